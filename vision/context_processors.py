from django.conf import settings

from vision import foxapi


def foxweb(request):
    """What every page needs: whether FoxAPI is the sandbox, and the models on offer."""
    return {"is_sandbox": foxapi.is_sandbox(), "foxweb_models": settings.FOXWEB_MODELS}
