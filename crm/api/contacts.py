def register(router) -> None:
    """Register this area's viewsets on the crm API router."""
