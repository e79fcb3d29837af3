"""History search also finds image names and pasted addresses: the stored tsvector column (0002) is
rebuilt over prompt, answer and the new `image_names`, which existing tasks get filled in here."""

from django.db import migrations

ADD = [
    "ALTER TABLE vision_task ADD COLUMN IF NOT EXISTS search_vector tsvector GENERATED ALWAYS AS "
    "(to_tsvector('simple'::regconfig, COALESCE(prompt, '') || ' ' || COALESCE(answer, '') || ' ' || "
    "regexp_replace(COALESCE(image_names, ''), '[./_:?=&-]+', ' ', 'g'))) STORED",
    "CREATE INDEX IF NOT EXISTS task_search_vector ON vision_task USING gin (search_vector)",
]
REMOVE = [
    "DROP INDEX IF EXISTS task_search_vector",
    "ALTER TABLE vision_task DROP COLUMN IF EXISTS search_vector",
]
OLD = [
    "ALTER TABLE vision_task ADD COLUMN IF NOT EXISTS search_vector tsvector GENERATED ALWAYS AS "
    "(to_tsvector('simple'::regconfig, COALESCE(prompt, '') || ' ' || COALESCE(answer, ''))) STORED",
    "CREATE INDEX IF NOT EXISTS task_search_vector ON vision_task USING gin (search_vector)",
]


def fill_image_names(apps, schema_editor):
    Task = apps.get_model("vision", "Task")
    TaskImage = apps.get_model("vision", "TaskImage")
    for task_id in Task.objects.filter(image_names="").values_list("id", flat=True).iterator():
        names = [
            value
            for name, url in TaskImage.objects.filter(task_id=task_id).values_list("name", "source_url")
            for value in (name, url)
            if value
        ]
        if names:
            Task.objects.filter(pk=task_id).update(image_names=" ".join(names))


def rebuild_search_column(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in REMOVE + ADD:
            schema_editor.execute(statement)


def restore_old_search_column(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in REMOVE + OLD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("vision", "0003_task_queue")]

    operations = [
        migrations.RunPython(fill_image_names, migrations.RunPython.noop),
        migrations.RunPython(rebuild_search_column, restore_old_search_column),
    ]
