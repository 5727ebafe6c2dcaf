from rest_framework.permissions import DjangoModelPermissions


class ModelPermissions(DjangoModelPermissions):
    """Django model permissions, with ``view`` required for reads (DRF's default lets any
    authenticated user read). Endpoints without a queryset must set their own classes."""

    perms_map = {
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "POST": ["%(app_label)s.add_%(model_name)s"],
        "PUT": ["%(app_label)s.change_%(model_name)s"],
        "PATCH": ["%(app_label)s.change_%(model_name)s"],
        "DELETE": ["%(app_label)s.delete_%(model_name)s"],
    }


class HasPerm:
    """``permission_classes = [HasPerm.of("crm.merge_customer")]`` for action endpoints."""

    @staticmethod
    def of(*perms: str):
        from rest_framework.permissions import BasePermission

        class _HasPerm(BasePermission):
            def has_permission(self, request, view):
                return bool(request.user and request.user.is_authenticated) and (
                    request.user.has_perms(perms)
                )

        _HasPerm.__name__ = "HasPerm_" + "_".join(p.replace(".", "_") for p in perms)
        return _HasPerm
