from vision import catalog, foxapi


def foxweb(request):
    """What every page needs: whether FoxAPI is the sandbox, and the models on offer (from the catalogue)."""
    return {"is_sandbox": foxapi.is_sandbox(), "foxweb_models": catalog.MODELS}
