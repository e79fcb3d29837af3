"""Full-text search over prompt and answer on PostgreSQL: a stored tsvector column kept up to date
by PostgreSQL itself, with a GIN index. Task.objects.search() matches against it; SQLite searches
without it. The column is invisible to Django's models, which never write it."""

from django.db import migrations

ADD = [
    "ALTER TABLE vision_task ADD COLUMN IF NOT EXISTS search_vector tsvector GENERATED ALWAYS AS "
    "(to_tsvector('simple'::regconfig, COALESCE(prompt, '') || ' ' || COALESCE(answer, ''))) STORED",
    "CREATE INDEX IF NOT EXISTS task_search_vector ON vision_task USING gin (search_vector)",
]
REMOVE = [
    "DROP INDEX IF EXISTS task_search_vector",
    "ALTER TABLE vision_task DROP COLUMN IF EXISTS search_vector",
]


def add_search_column(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in ADD:
            schema_editor.execute(statement)


def remove_search_column(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in REMOVE:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("vision", "0001_initial")]

    operations = [migrations.RunPython(add_search_column, remove_search_column)]
