"""The describe page and the uploads it stages."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from vision import alttext, catalog, images, services
from vision.forms import PER_IMAGE_PRESETS, PRESETS, DescribeForm
from vision.models import Profile, Upload
from vision.views.common import file_response, get_task_for_user


def _describe_context(form: DescribeForm, quiet: bool = False) -> dict:
    staged = form.staged_uploads()
    count_text, too_many = form.image_count(len(staged))
    return {
        "form": form,
        "quiet": quiet,
        "staged": staged,
        "count_text": count_text,
        "too_many": too_many,
        "presets": PRESETS,
        "chosen_preset": form.chosen_preset(),
        "mode": form.chosen_mode(),
        "batch_limit": settings.FOXWEB_MAX_IMAGES_PER_BATCH,
        "per_image_presets": " ".join(sorted(PER_IMAGE_PRESETS)),
        "purpose": (form.data.get("purpose") if form.is_bound else None) or alttext.DEFAULT_PURPOSE,
        "purpose_help": {purpose.key: purpose.help for purpose in alttext.PURPOSES},
        "max_upload_mb": settings.FOXWEB_MAX_UPLOAD_BYTES // (1024 * 1024),
        "model_options": [
            {"name": name, "label": label, "limit": catalog.max_images(name)} for name, label in catalog.choices()
        ],
    }


@require_http_methods(["GET", "POST"])
def describe(request):
    """The home page: the describe form. Without JavaScript, presets and removals post here too."""
    template = "vision/describe.html#describe-form" if request.htmx else "vision/describe.html"
    if request.method == "GET":
        # Images chosen earlier and not yet described are still there after a reload.
        initial = _again_initial(request) or {"uploads": list(Upload.objects.filter(owner=request.user))}
        form = DescribeForm(request.user, initial=initial)
        return render(request, template, _describe_context(form))

    if "describe" not in request.POST:
        # A preset or a "remove" button pressed without JavaScript: edit the form, keep the rest.
        data = request.POST.copy()
        chosen = data.get("choose_preset", "")
        if chosen in PRESETS:
            data["preset"], data["prompt"] = chosen, PRESETS[chosen][1]
        removed = data.getlist("uploads") if "remove_all" in data else [data.get("remove_upload", "")]
        removed = [value for value in removed if value.isdigit() and len(value) <= 18]
        for upload in Upload.objects.filter(owner=request.user, pk__in=removed):
            upload.delete()  # one by one, so its files go too
        data.setlist("uploads", [value for value in data.getlist("uploads") if value not in removed])
        if "remove_all" in data:
            data["urls"] = ""
        form = DescribeForm(request.user, data, request.FILES)
        form.is_valid()  # keeps any newly chosen files as uploads
        form.close()
        return render(request, template, _describe_context(form, quiet=True))

    form = DescribeForm(request.user, request.POST, request.FILES)
    try:
        if form.is_valid():
            if form.is_batch:
                made = services.create_batch(
                    request.user, form.options(), form.batch_rows(), problems=form.intake_problems
                )
            else:
                made = services.create_task(
                    request.user, form.options(), uploads=form.all_uploads(), urls=form.cleaned_data["urls"]
                )
            if form.profile.default_team_id != getattr(form.cleaned_data["team"], "pk", None):
                Profile.objects.filter(user=request.user).update(default_team=form.cleaned_data["team"])  # next time
            if request.htmx:
                return HttpResponseClientRedirect(made.get_absolute_url())
            return redirect(made)
    finally:
        form.close()
    tampered = [name for name in ("uploads", "team") if name in form.errors]
    if tampered or ("key" in form.errors and request.POST.get("key")):  # others' uploads, teams or keys
        return HttpResponseBadRequest("Unknown upload, team or key.")
    return render(request, template, _describe_context(form))


def _again_initial(request) -> dict:
    """ "Describe again": the settings of a task the user may see (its images were staged by POST)."""
    task_id = request.GET.get("again", "")
    if not task_id.isdigit() or len(task_id) > 18:
        return {}
    task = get_task_for_user(request, int(task_id))
    return {
        "uploads": list(Upload.objects.filter(owner=request.user)),
        "model": task.model,
        "prompt": task.prompt,
        "system_prompt": task.system_prompt,
        "max_tokens": task.max_tokens,
        "temperature": task.temperature,
        "include_reasoning": task.include_reasoning,
        "high_detail": task.high_detail,
    }


@require_POST
def describe_again(request, task_id: int):
    """Stage a task's images again (once each, however often this is pressed) and open the form."""
    task = get_task_for_user(request, task_id)
    for image in task.images.all():
        Upload.stage(request.user, image.name, image.read(), source_url=image.source_url, original=image, reuse=True)
    return redirect(f"{reverse('describe')}?again={task.pk}")


@require_POST
def upload_create(request):
    """Stage one image picked, dropped or pasted on the describe page (JavaScript path)."""
    file = request.FILES.get("file")
    if file is None:
        return HttpResponseBadRequest("No file.")
    error = ""
    upload = None
    try:
        upload = Upload.stage_file(request.user, file)
    except images.ImageError as exc:
        error = exc.user_message
    # A refused file is the user's mistake: its explanation is the list item, answered with 200 like other mistakes.
    return render(request, "vision/describe.html#staged-upload", {"upload": upload, "error": error, "name": file.name})


@require_POST
def upload_delete(request, upload_id: int):
    upload = get_object_or_404(Upload, pk=upload_id, owner=request.user)
    upload.delete()
    return HttpResponse("")


@require_GET
def upload_thumbnail(request, upload_id: int):
    upload = get_object_or_404(Upload, pk=upload_id, owner=request.user)
    return file_response(upload.thumbnail)
