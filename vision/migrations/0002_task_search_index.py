"""Full-text search over prompt and answer on PostgreSQL: a GIN index on the expression
`Task.objects.search()` filters by (vision.models.SEARCH_DOCUMENT). SQLite searches without it."""

from django.db import migrations

INDEX = (
    "CREATE INDEX IF NOT EXISTS task_search_document ON vision_task USING gin "
    "(to_tsvector('simple'::regconfig, COALESCE(prompt, '') || ' ' || COALESCE(answer, '')))"
)


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INDEX)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS task_search_document")


class Migration(migrations.Migration):
    dependencies = [("vision", "0001_initial")]

    operations = [migrations.RunPython(create_index, drop_index)]
