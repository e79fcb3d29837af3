"""Forms: they validate what people type and pick, and say what is wrong in plain words."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordChangeForm, UserCreationForm
from django.utils.text import Truncator

from vision import alttext, catalog, debug, fetch, foxapi, images, intake, keyvault
from vision.models import KEY_ORGANISATION, KEY_SANDBOX, ApiKey, Profile, ReviewState, Task, Team, Upload
from vision.services import BatchRow, DescribeOptions, name_from_url

PRESETS = {
    "one-sentence": ("One sentence", "Describe this image in one sentence."),
    "alt-text": (
        "Alt text (≤ 125 characters)",
        "Write alt text for this image for a web page: one plain sentence of at most 125 characters, "
        "without starting with 'Image of'.",
    ),
    "detailed": (
        "Detailed description",
        "Describe this image in detail: the subject, the setting, colours, any people or objects, and the mood.",
    ),
    "extract-text": (
        "Extract all text",
        "Extract all text visible in this image, exactly as written, keeping line breaks. If there is no text, say so.",
    ),
    "product": (
        "Product description",
        "Write a product description for an online shop based on this photo: what the product is, "
        "its colour, material and notable features, in two or three short sentences.",
    ),
}
DEFAULT_PRESET = "detailed"
ALT_TEXT_PRESET = "alt-text"
# Presets that are about one image each: with several images, one description each is the default.
PER_IMAGE_PRESETS = {"alt-text", "product", "extract-text"}
TOGETHER, EACH = "together", "each"


def default_language(user, profile) -> str:
    """The language of new alt text: the person's default, else their first team's, else English."""
    if profile.default_language:
        return profile.default_language
    team = Team.objects.filter(memberships__user=user).exclude(default_language="").first()
    return team.default_language if team else alttext.DEFAULT_LANGUAGE


# FoxWeb always sends a longest-answer limit (Claude models require one, and it bounds the cost of the
# others), at least the largest minimum of any model in the catalogue, so switching models never
# makes the number invalid.
MAX_TOKENS_FLOOR = catalog.max_tokens_floor()
# FoxAPI takes a prompt of at most 100,000 characters; a batch row's context (up to 2,000) and
# FoxWeb's wording around it are added to what is typed, so the typed prompt stops well short.
MAX_TYPED_PROMPT_CHARS = 90_000
# FoxAPI promises no key format (sk-… is only its example); anything shorter is surely a partial copy.
MIN_KEY_LENGTH = 8


def _plural(count: int, word: str, words: str) -> str:
    return f"{count} {word if count == 1 else words}"


def image_count(ready: int, uploading: int, addresses: int, model: str, each: bool = False) -> tuple[str, bool]:
    """What the describe form says under its images, and whether there are more than can be taken.

    static/js/foxweb.js (updateCount) writes the same sentences as images come and go.
    """
    total = ready + uploading + addresses
    if not total:
        return "", False
    parts = [_plural(ready, "image", "images") + " ready"]
    if uploading:
        parts.append(f"{uploading} uploading")
    if addresses:
        parts.append(_plural(addresses, "address", "addresses") + " to fetch")
    text = ", ".join(parts) + "."
    if each:
        limit = settings.FOXWEB_MAX_IMAGES_PER_BATCH
        if total <= limit:
            return f"{text} One description for each image (up to {limit}).", False
        return f"{text} A batch takes up to {limit} images: remove {total - limit}.", True
    if model not in catalog.MODELS:
        return text, False
    label, limit = catalog.label(model), catalog.max_images(model)
    takes = "one image" if limit == 1 else f"up to {limit} images"
    if total <= limit:
        return f"{text} {label} takes {takes} per description.", False
    return (
        f"{text} {label} takes {takes} per description: remove {total - limit}, "
        "or choose one description for each image."
    ), True


def key_choices(user) -> list[tuple[str, str]]:
    """The keys a user may pay with, as form choices: theirs, their teams', the organisation's."""
    choices = []
    warnings = {ApiKey.Status.REJECTED: " — refused by FoxAPI", ApiKey.Status.NO_BALANCE: " — out of balance"}
    for key in ApiKey.objects.usable_by(user).select_related("team"):
        whose = key.team.name if key.team_id else "personal"
        choices.append((f"key:{key.pk}", f"{key.name} ({whose}, {key.masked}){warnings.get(key.status, '')}"))
    if settings.FOXAPI_API_KEY:
        choices.append((KEY_ORGANISATION, "Organisation key"))
    if foxapi.is_sandbox():
        choices.append((KEY_SANDBOX, "Sandbox demo key (free, answers are simulated)"))
    return choices


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleImageField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data] if data else []
        return [super(MultipleImageField, self).clean(item, initial) for item in files]


class UploadsField(forms.ModelMultipleChoiceField):
    """Staged uploads, in the order the page lists them; ids too large for the database are invalid."""

    widget = forms.MultipleHiddenInput

    def clean(self, value):
        values = [str(item) for item in (value or [])]
        if any(not item.isdigit() or len(item) > 18 for item in values):
            raise forms.ValidationError("Unknown upload.", code="invalid_pk_value")
        found = {str(upload.pk): upload for upload in super().clean(values)}
        return [found[item] for item in dict.fromkeys(values)]


class DescribeForm(forms.Form):
    files = MultipleImageField(
        required=False,
        label="Images from your computer",
        widget=MultipleFileInput(attrs={"accept": "image/*"}),
    )
    uploads = UploadsField(queryset=Upload.objects.none(), required=False)
    urls = forms.CharField(
        required=False,
        label="Image addresses (URLs)",
        help_text="One per line, starting with http:// or https://.",
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "https://example.com/photo.jpg", "spellcheck": "false"}),
    )
    zip_file = forms.FileField(
        required=False,
        label="A ZIP file of images",
        help_text="Folders inside are fine; each image is described on its own.",
        widget=forms.ClearableFileInput(attrs={"accept": ".zip,application/zip"}),
    )
    url_file = forms.FileField(
        required=False,
        label="A list of image addresses (CSV)",
        help_text="A column of addresses; optional columns id or sku, filename, context and language.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,text/csv,text/plain"}),
    )
    mode = forms.ChoiceField(
        label="How to describe them",
        required=False,
        choices=[(TOGETHER, "One description of all these images together"), (EACH, "One description for each image")],
        widget=forms.RadioSelect,
    )
    preset = forms.CharField(required=False, widget=forms.HiddenInput)
    purpose = forms.ChoiceField(
        label=alttext.QUESTION,
        required=False,
        choices=alttext.purpose_choices,
        initial=alttext.DEFAULT_PURPOSE,
        widget=forms.RadioSelect,
    )
    purpose_detail = forms.CharField(
        label=alttext.purposes.ACTION_FIELD.label,
        help_text=alttext.purposes.ACTION_FIELD.help,
        required=False,
        max_length=alttext.purposes.ACTION_FIELD.max_length,
    )
    context = forms.CharField(
        label="Text from the page or about the product (optional)",
        required=False,
        max_length=5_000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Helps the model say what matters here. It is sent as background, never as instructions.",
    )
    keywords = forms.CharField(label="Keywords to use (optional)", required=False, max_length=500)
    audience = forms.CharField(label="Who reads the page (optional)", required=False, max_length=200)
    language = forms.ChoiceField(label="Language of the alt text", required=False, choices=alttext.language_choices)
    model = forms.ChoiceField(
        label="Model",
        choices=catalog.choices,
        error_messages={"required": "Pick a model.", "invalid_choice": "Pick one of the models listed."},
    )
    prompt = forms.CharField(
        label="What should the model do?",
        required=False,
        max_length=MAX_TYPED_PROMPT_CHARS,
        widget=forms.Textarea(attrs={"rows": 3}),
        initial=PRESETS[DEFAULT_PRESET][1],
        error_messages={
            "required": "Tell the model what to do with the images.",
            "max_length": (
                f"The prompt is too long: keep it under {MAX_TYPED_PROMPT_CHARS:,} characters. "
                "FoxWeb adds each image's details to it, and FoxAPI takes 100,000 characters at most."
            ),
        },
    )
    system_prompt = forms.CharField(
        label="System prompt",
        required=False,
        max_length=10_000,
        error_messages={"max_length": "The system prompt is too long: keep it under 10,000 characters."},
        help_text="Standing instructions placed before everything else, e.g. “You write alt text.”",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    max_tokens = forms.IntegerField(
        label="Longest answer",
        min_value=MAX_TOKENS_FLOOR,
        max_value=64_000,
        initial=catalog.DEFAULT_MAX_TOKENS,
        help_text=f"Counted in tokens, about ¾ of a word each: 1024 is about 750 words. At least {MAX_TOKENS_FLOOR}.",
        error_messages={
            "required": f"Give a longest answer of at least {MAX_TOKENS_FLOOR} tokens.",
            "min_value": f"Give a longest answer of at least {MAX_TOKENS_FLOOR} tokens.",
            "max_value": "The longest answer can be at most 64,000 tokens.",
            "invalid": "Give the longest answer as a whole number of tokens, e.g. 1024.",
        },
    )
    temperature = forms.FloatField(
        label="Temperature",
        required=False,
        min_value=0,
        max_value=2,
        help_text="0 gives steady answers, 2 the most varied. Leave empty for the model's default.",
        error_messages={
            "min_value": "Use a temperature from 0 to 2.",
            "max_value": "Use a temperature from 0 to 2.",
            "invalid": "Use a temperature from 0 to 2, e.g. 0.7.",
        },
        widget=forms.NumberInput(attrs={"step": "0.1"}),
    )
    team = forms.ModelChoiceField(
        label="Share with",
        queryset=Team.objects.none(),
        required=False,
        empty_label="Only me",
        help_text="Members of the team can see the description and its images; only you can change it.",
    )
    key = forms.ChoiceField(
        label="Pay with",
        error_messages={"required": "Add a FoxAPI key on the Keys page first, or ask your administrator for one."},
    )
    include_reasoning = forms.BooleanField(label="Include the model's reasoning", required=False)
    high_detail = forms.BooleanField(
        label="High detail (small print)",
        required=False,
        help_text="Sends larger images so small text can be read. Uses more tokens.",
    )

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["uploads"].queryset = Upload.objects.filter(owner=user)
        self.fields["team"].queryset = Team.objects.filter(memberships__user=user)
        self.profile = profile = Profile.of(user)
        self.fields["model"].initial = profile.default_model or settings.FOXWEB_DEFAULT_MODEL
        self.fields["team"].initial = profile.default_team_id
        self.fields["key"].choices = key_choices(user)
        values = [value for value, _ in self.fields["key"].choices]
        preferred = f"key:{profile.default_key_id}"
        organisation_first = [KEY_ORGANISATION, KEY_SANDBOX] if KEY_ORGANISATION in values else [KEY_SANDBOX]
        self.fields["key"].initial = next(
            (value for value in [preferred, *organisation_first, *values] if value in values), None
        )
        if profile.default_preset in PRESETS:
            self.fields["prompt"].initial = PRESETS[profile.default_preset][1]
            self.fields["preset"].initial = profile.default_preset
        self.fields["language"].initial = default_language(user, profile)
        self.new_uploads: list[Upload] = []
        self.zip_intake: intake.ZipIntake | None = None
        self.url_rows: list[intake.UrlRow] = []
        self.intake_problems: list[str] = []

    # Which kind of description ----------------------------------------------------------------

    def chosen_preset(self) -> str:
        value = (self.data.get("preset") if self.is_bound else self.fields["preset"].initial) or ""
        return value if value in PRESETS else ""

    @property
    def is_alt_text(self) -> bool:
        return self.chosen_preset() == ALT_TEXT_PRESET

    def chosen_mode(self) -> str:
        """What was chosen, else the default: one each for several images with a per-image preset.

        A ZIP or a list (CSV) can only be described one image at a time, so it means one each
        whatever the radio says: refusing it would only make people pick the file again.
        """
        if self.is_bound and (self.files.get("zip_file") or self.files.get("url_file")):
            return EACH
        value = self.data.get("mode") if self.is_bound else None
        if value in (TOGETHER, EACH):
            return value
        several = self._given_count() > 1 if self.is_bound else len(self.initial.get("uploads") or []) > 1
        return EACH if several and self.chosen_preset() in PER_IMAGE_PRESETS else TOGETHER

    @property
    def is_batch(self) -> bool:
        return self.chosen_mode() == EACH

    def image_limit(self) -> int:
        """How many images may be given: the model's limit for one description, the batch limit for one each."""
        if self.is_batch:
            return settings.FOXWEB_MAX_IMAGES_PER_BATCH
        model = self.data.get("model") if self.is_bound else None
        return catalog.max_images(model) if model in catalog.MODELS else settings.FOXWEB_MAX_IMAGES_PER_TASK

    def _given_count(self) -> int:
        """Images given in this request, counted from the raw request: no file is read to count them."""
        uploads = {value for value in self.data.getlist("uploads") if value}
        urls = [line for line in self.data.get("urls", "").splitlines() if line.strip()]
        return len(uploads) + len(self.files.getlist("files")) + len(urls)

    def clean_files(self) -> list:
        """Check each new file now and keep the good ones, so a later error loses none of them.

        Too many images are refused first, cheaply: nothing is decoded or kept then.
        """
        files = self.cleaned_data.get("files") or []
        if not files:
            return []
        count, limit = self._given_count(), self.image_limit()
        if count > limit:
            raise forms.ValidationError(self.too_many_message(count, limit))
        try:
            Upload.check_room(self.user, len(files))
        except images.ImageError as error:
            raise forms.ValidationError(error.user_message) from None
        problems = []
        for file in files:
            try:
                self.new_uploads.append(Upload.stage_file(self.user, file))
            except images.ImageError as error:
                problems.append(f"{file.name}: {error.user_message}")
        if problems:
            raise forms.ValidationError(problems)
        return []

    def too_many_message(self, count: int, limit: int) -> str:
        extra = count - limit
        remove = f"Remove {extra} {'image' if extra == 1 else 'images'}"
        if self.is_batch:
            return f"A batch takes at most {limit} images; you gave {count}. {remove}, or make two batches."
        model = self.data.get("model", "")
        label = catalog.label(model) if model in catalog.MODELS else "This model"
        noun = "image" if limit == 1 else "images"
        return (
            f"{label} takes at most {limit} {noun} per description; you gave {count}. "
            f"{remove}, or choose “One description for each image”."
        )

    def clean_zip_file(self):
        """The ZIP's images are listed and checked from their headers; the worker decodes them later."""
        upload = self.cleaned_data.get("zip_file")
        if not upload:
            return None
        try:
            self.zip_intake = intake.read_zip(upload)
        except intake.IntakeError as error:
            raise forms.ValidationError(f"{upload.name}: {error.user_message}") from None
        self.intake_problems += [str(problem) for problem in self.zip_intake.problems]
        return upload

    def clean_url_file(self):
        upload = self.cleaned_data.get("url_file")
        if not upload:
            return None
        try:
            found = intake.read_url_list(upload.read(settings.FOXWEB_MAX_LIST_BYTES + 1))
        except intake.IntakeError as error:
            raise forms.ValidationError(f"{upload.name}: {error.user_message}") from None
        self.url_rows += found.rows
        self.intake_problems += [f"{upload.name}, {problem}" for problem in found.problems]
        return upload

    def close(self) -> None:
        if self.zip_intake is not None:
            self.zip_intake.close()

    def clean_purpose_detail(self) -> str:
        value = self.cleaned_data.get("purpose_detail", "").strip()
        if self.is_alt_text and self.data.get("purpose") == alttext.LINK and not value:
            raise forms.ValidationError("Say where the link goes or what the button does, in a few words.")
        return value

    def clean_prompt(self) -> str:
        prompt = self.cleaned_data.get("prompt", "").strip()
        if self.is_alt_text:
            return prompt or PRESETS[ALT_TEXT_PRESET][1]  # the purpose decides what is asked
        if not prompt:
            raise forms.ValidationError(self.fields["prompt"].error_messages["required"])
        return prompt

    def clean_purpose(self) -> str:
        return (self.cleaned_data.get("purpose") or alttext.DEFAULT_PURPOSE) if self.is_alt_text else ""

    def clean_language(self) -> str:
        return self.cleaned_data.get("language") or alttext.DEFAULT_LANGUAGE

    def clean_urls(self) -> list[str]:
        """Addresses are checked here (form, scheme, private networks); the worker fetches them.

        For one description each, the box also takes a pasted CSV with the columns of a list file.
        """
        text = self.cleaned_data["urls"]
        if self.is_batch and text.strip():
            try:
                found = intake.read_url_list(text)
            except intake.IntakeError as error:
                raise forms.ValidationError(error.user_message) from None
            self.url_rows += found.rows
            self.intake_problems += [str(problem) for problem in found.problems]
            return []
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        problems, urls = [], []
        for line in lines:
            try:
                urls.append(fetch.check_url(line))
            except fetch.FetchError as error:
                problems.append(f"{Truncator(line).chars(80)}: {error.user_message}")
        if problems:
            raise forms.ValidationError(problems)
        return list(dict.fromkeys(urls))

    def image_count(self, ready: int) -> tuple[str, bool]:
        """The count shown under the images: `ready` staged uploads and the address lines, against the model's limit."""
        if self.is_bound:
            addresses = self.data.get("urls", "")
            model = self.data.get("model", "")
        else:
            addresses = self.initial.get("urls", "")
            model = self.initial.get("model") or self.fields["model"].initial
        lines = [line for line in str(addresses or "").splitlines() if line.strip()]
        return image_count(ready, 0, len(lines), model, each=self.is_batch)

    def staged_uploads(self) -> list[Upload]:
        """Every upload this form holds, old and new, to show and keep on a re-rendered form."""
        if not self.is_bound:
            chosen = list(self.initial.get("uploads") or [])
        elif hasattr(self, "cleaned_data") and "uploads" in self.cleaned_data:
            chosen = list(self.cleaned_data["uploads"])
        else:
            ids = [int(value) for value in self.data.getlist("uploads") if value.isdigit() and len(value) <= 18]
            found = Upload.objects.filter(owner=self.user, pk__in=ids).in_bulk()
            chosen = [found[pk] for pk in dict.fromkeys(ids) if pk in found]
        return chosen + [upload for upload in self.new_uploads if upload not in chosen]

    def clean(self):
        data = super().clean()
        model = data.get("model")
        count = len(data.get("uploads") or []) + len(self.new_uploads) + len(data.get("urls") or [])
        count += len(self.url_rows) + (len(self.zip_intake.items) if self.zip_intake else 0)
        if {"files", "urls", "zip_file", "url_file"} & set(self.errors):
            return data
        if count == 0:
            message = "Add at least one image: pick a file, drop or paste one, or give its address."
            if self.intake_problems:
                message = "None of the files or rows could be used: " + "; ".join(self.intake_problems[:5])
            self.add_error("files", message)
        elif model:
            limit = settings.FOXWEB_MAX_IMAGES_PER_BATCH if self.is_batch else catalog.max_images(model)
            if count > limit:
                self.add_error("files", self.too_many_message(count, limit))
        if not self.errors:
            self._refuse_repeats(list(data.get("uploads") or []) + self.new_uploads)
        return data

    def _refuse_repeats(self, uploads: list[Upload]) -> None:
        """The same picture twice costs tokens twice and tells the model nothing more."""
        seen: dict[str, str] = {}
        for upload in uploads:
            if upload.sha256 in seen:
                self.add_error(
                    "files", f"The same image is here twice ({seen[upload.sha256]} and {upload.name}). Remove one."
                )
                return
            seen[upload.sha256] = upload.name

    def _paying_key(self) -> dict:
        choice = self.cleaned_data["key"]
        if choice.startswith("key:"):
            api_key = ApiKey.objects.usable_by(self.user).get(pk=int(choice[4:]))
            return {"api_key": api_key, "key_source": "key"}
        return {"api_key": None, "key_source": choice}

    def options(self) -> DescribeOptions:
        data = self.cleaned_data
        alt = self.is_alt_text
        return DescribeOptions(
            model=data["model"],
            prompt=data["prompt"],
            system_prompt=data["system_prompt"],
            max_tokens=data["max_tokens"],
            temperature=data["temperature"],
            include_reasoning=data["include_reasoning"],
            high_detail=data["high_detail"],
            team=data["team"],
            preset=self.chosen_preset(),
            purpose=data["purpose"],
            purpose_detail=data["purpose_detail"] if data["purpose"] == alttext.LINK else "",
            context=data["context"] if alt else "",
            keywords=data["keywords"] if alt else "",
            audience=data["audience"] if alt else "",
            language=data["language"] if alt else "",
            **self._paying_key(),
        )

    def all_uploads(self) -> list[Upload]:
        return list(self.cleaned_data.get("uploads") or []) + self.new_uploads

    def batch_rows(self) -> list[BatchRow]:
        """Every image of a batch, in order: staged uploads, then the ZIP's images, then the list's rows."""
        rows = [BatchRow(name=upload.name, upload=upload) for upload in self.all_uploads()]
        if self.zip_intake is not None:
            rows += [BatchRow(name=item.name, zip_item=item) for item in self.zip_intake.items]
        for row in self.url_rows:
            language = alttext.normalise_language(row.language) or "" if row.language else ""
            rows.append(
                BatchRow(
                    name=row.filename or name_from_url(row.url),
                    url=row.url,
                    external_id=row.id,
                    context=row.context,
                    language=language,
                )
            )
        return rows


class WeakPasswordUnderPassword:
    """Django reports a weak new password under its confirmation; people look for it under the password."""

    FIRST_FIELD = {"password2": "password1", "new_password2": "new_password1"}

    def validate_password_for_user(self, user, password_field_name="password2"):
        super().validate_password_for_user(user, self.FIRST_FIELD.get(password_field_name, password_field_name))


class SetupForm(WeakPasswordUnderPassword, UserCreationForm):
    """The first administrator account of a new installation."""

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")

    def save(self, commit=True):
        user = super().save(commit=False)
        user.is_staff = user.is_superuser = True
        if commit:
            user.save()
        return user


def teams_of(user):
    return Team.objects.filter(memberships__user=user)


class ShareForm(forms.ModelForm):
    """Who besides the owner may see a task."""

    class Meta:
        model = Task
        fields = ["team"]
        labels = {"team": "Share with"}

    def save(self, commit=True) -> Task:
        self.instance.save(update_fields=["team"])  # the status poller may be saving the answer meanwhile
        return self.instance

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams_of(self.instance.owner)
        self.fields["team"].empty_label = "Only me"


class BatchShareForm(forms.Form):
    """Who besides the owner may see a batch (and every description in it)."""

    team = forms.ModelChoiceField(
        label="Share with", queryset=Team.objects.none(), required=False, empty_label="Only me"
    )

    def __init__(self, owner, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams_of(owner)


class TeamForm(forms.ModelForm):
    class Meta:
        model = Team
        fields = ["name", "default_language"]
        labels = {"name": "Team name", "default_language": "Language of the team's alt text"}
        error_messages = {"name": {"required": "Give the team a name."}}

    default_language = forms.ChoiceField(
        label="Language of the team's alt text",
        required=False,
        choices=lambda: [("", "English, unless members choose another"), *alttext.language_choices()],
        help_text="New alt text is written in this language unless a person or a batch asks for another.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_name(self) -> str:
        """Two of your teams with one name could not be told apart in any list."""
        name = self.cleaned_data["name"].strip()
        twins = teams_of(self.user).filter(name__iexact=name).exclude(pk=self.instance.pk)
        if twins.exists():
            raise forms.ValidationError(f"You are already in a team called “{name}”. Choose another name.")
        return name


class JoinForm(WeakPasswordUnderPassword, UserCreationForm):
    """A new account, made from a team invitation."""

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username",)


class HistoryFilterForm(forms.Form):
    """The history page's search and filters, read from the query string."""

    q = forms.CharField(label="Search", required=False, widget=forms.TextInput(attrs={"type": "search"}))
    # "cancelled" holds both the tasks someone stopped and those FoxAPI cancelled.
    status = forms.ChoiceField(
        label="Status",
        required=False,
        choices=[
            ("", "Any status"),
            *(
                (value, "Stopped or cancelled" if value == Task.Status.CANCELLED else label)
                for value, label in Task.Status.choices
            ),
        ],
    )
    model = forms.ChoiceField(label="Model", required=False)
    team = forms.ModelChoiceField(label="Team", required=False, queryset=Team.objects.none(), empty_label="Any team")
    owner = forms.ChoiceField(label="Owner", required=False)
    review = forms.ChoiceField(
        label="Review",
        required=False,
        choices=[("", "Any review state"), ("needs", "Needs review"), *ReviewState.choices],
    )
    since = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["team"].queryset = teams_of(user)
        self.fields["model"].choices = [("", "Any model"), *catalog.choices()]
        colleagues = (
            get_user_model()
            .objects.filter(memberships__team__memberships__user=user)
            .exclude(pk=user.pk)
            .distinct()
            .order_by("username")
        )
        self.fields["owner"].choices = [("", "Anyone"), ("me", "Me"), ("others", "My colleagues")] + [
            (str(colleague.pk), colleague.get_username()) for colleague in colleagues
        ]

    def filter(self, tasks):
        """Narrow a queryset of tasks by whatever valid filters were given; invalid ones are ignored."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        if data.get("q"):
            tasks = tasks.search(data["q"])
        if data.get("status"):
            tasks = tasks.filter(status=data["status"])
        if data.get("review") == "needs":
            tasks = tasks.needs_review()
        elif data.get("review"):
            tasks = tasks.filter(status=Task.Status.COMPLETED, review_state=data["review"])
        if data.get("model"):
            tasks = tasks.filter(model=data["model"])
        if data.get("team"):
            tasks = tasks.filter(team=data["team"])
        if data.get("owner") == "me":
            tasks = tasks.filter(owner=self.user)
        elif data.get("owner") == "others":
            tasks = tasks.exclude(owner=self.user)
        elif data.get("owner"):
            tasks = tasks.filter(owner_id=int(data["owner"]))
        if data.get("since"):
            tasks = tasks.filter(created__date__gte=data["since"])
        if data.get("until"):
            tasks = tasks.filter(created__date__lte=data["until"])
        return tasks

    @property
    def looks_inside_batches(self) -> bool:
        """Searching, or filtering by a row's state, lists the rows of batches one by one."""
        data = getattr(self, "cleaned_data", {})
        return bool(data.get("q") or data.get("status") or data.get("review"))

    @property
    def is_filtered(self) -> bool:
        return any(self.data.get(name) for name in self.fields)

    @property
    def has_filters(self) -> bool:
        """Filters beyond the search box, so the page opens the filter panel when any is set."""
        return any(self.data.get(name) for name in self.fields if name != "q")


class PreferencesForm(forms.ModelForm):
    class Meta:
        model = Profile
        fields = ["default_model", "default_preset", "default_team", "default_language"]
        labels = {
            "default_model": "Model",
            "default_preset": "Prompt",
            "default_team": "Share new descriptions with",
        }

    default_model = forms.ChoiceField(label="Model", required=False)
    default_preset = forms.ChoiceField(label="Prompt", required=False)
    default_language = forms.ChoiceField(
        label="Language of alt text",
        required=False,
        choices=lambda: [("", "My team's language, else English"), *alttext.language_choices()],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["default_model"].choices = [("", "FoxWeb's default"), *catalog.choices()]
        self.fields["default_preset"].choices = [("", "FoxWeb's default")] + [
            (key, label) for key, (label, _) in PRESETS.items()
        ]
        self.fields["default_team"].queryset = teams_of(self.instance.user)
        self.fields["default_team"].empty_label = "Only me"


class ChangePasswordForm(WeakPasswordUnderPassword, PasswordChangeForm):
    pass


class ConfirmPasswordForm(forms.Form):
    password = forms.CharField(
        label="Your password", widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("That is not your current password.")
        return password


class ApiKeyForm(forms.Form):
    """Add a FoxAPI key: tested with FoxAPI before it is saved, then encrypted."""

    name = forms.CharField(
        label="Name",
        max_length=100,
        help_text="Something to recognise it by, e.g. “Marketing budget”.",
        error_messages={"required": "Give the key a name."},
    )
    secret = forms.CharField(
        label="API key",
        max_length=500,
        strip=True,
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "spellcheck": "false"}, render_value=False),
        help_text="Usually starts with sk-. It is encrypted, and never shown again, not even to you.",
        error_messages={"required": "Paste the key from your FoxAPI account."},
    )
    holder = forms.ChoiceField(label="Whose key", help_text="A team key can be used by every member of the team.")

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        owned = Team.objects.filter(memberships__user=user, memberships__role="owner")
        self.fields["holder"].choices = [("personal", "Mine (personal)")] + [
            (f"team:{team.pk}", f"The team “{team.name}”") for team in owned
        ]
        self.status = ApiKey.Status.UNTESTED
        self.notice = ""

    def clean_secret(self) -> str:
        """Only what is surely a copying mistake is refused here. The contract promises no key format
        (it shows sk-… as an example), so the test call to FoxAPI decides the rest."""
        secret = self.cleaned_data["secret"]
        if any(character.isspace() for character in secret):
            raise forms.ValidationError("The key has spaces in it. Copy it again, without spaces.")
        if not secret.isascii() or not secret.isprintable():
            raise forms.ValidationError("The key has characters FoxAPI keys never contain. Copy it again.")
        if len(secret) < MIN_KEY_LENGTH:
            raise forms.ValidationError("That key is too short. Copy it again, all of it.")
        debug.remember_secret(secret)  # from here on, error pages and logs hide it, whatever its shape
        return secret

    def clean(self):
        data = super().clean()
        if "secret" in data:
            twin = self._already_saved(data["secret"])
            if twin:
                self.add_error("secret", f"This key is already saved as “{twin.name}”.")
            elif not self.errors:  # a call to FoxAPI only for a form that is otherwise ready to save
                self._test_with_foxapi(data["secret"])
        return data

    def _already_saved(self, secret: str) -> ApiKey | None:
        """A key this user can already use or manage with the same secret (only decrypted to compare)."""
        candidates = ApiKey.objects.usable_by(self.user) | ApiKey.objects.manageable_by(self.user)
        for key in candidates.filter(last_four=secret[-4:], revoked__isnull=True).distinct():
            try:
                if key.secret() == secret:
                    return key
            except keyvault.UndecryptableKey:
                continue
        return None

    def _test_with_foxapi(self, secret: str) -> None:
        """One cheap call tells whether FoxAPI takes the key; a refused key is not saved."""
        try:
            foxapi.client().check_key(secret)
        except foxapi.KeyRejected:
            self.add_error("secret", "FoxAPI did not accept this key. Check that you copied all of it.")
        except foxapi.QuotaExhausted:
            self.status = ApiKey.Status.NO_BALANCE
            self.notice = "FoxAPI accepted the key, but its account has no balance left. Top it up to use it."
        except foxapi.FoxAPIError:
            self.notice = "FoxAPI could not be reached to test the key, so it was saved as untested."
        else:
            self.status = ApiKey.Status.OK

    def save(self) -> ApiKey:
        holder = self.cleaned_data["holder"]
        team = Team.objects.get(pk=int(holder[5:])) if holder.startswith("team:") else None
        return ApiKey.store(
            name=self.cleaned_data["name"],
            secret=self.cleaned_data["secret"],
            owner=None if team else self.user,
            team=team,
            created_by=self.user,
            status=self.status,
        )


class RenameKeyForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["name"]
        error_messages = {"name": {"required": "Give the key a name."}}

    def save(self, commit=True) -> ApiKey:
        self.instance.save(update_fields=["name"])  # not status or last use, which calls may be changing
        return self.instance
