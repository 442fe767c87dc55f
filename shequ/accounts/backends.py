"""Authentication by username or mobile number, and role-based Django permissions."""

from django.contrib.auth.backends import ModelBackend

from shequ.accounts.models import User
from shequ.accounts.services import user_find_by_mobile
from shequ.core.roles import perms_of
from shequ.core.scoping import user_assignments


class UsernameOrMobileBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(User.USERNAME_FIELD)
        if not username or password is None:
            return None
        username = username.strip()
        user = User.objects.filter(username__iexact=username).first()
        if user is None and any(ch.isdigit() for ch in username):
            user = user_find_by_mobile(username)
        if user is None:
            User().set_password(password)  # same work as a real check: no timing oracle
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def _role_perms(self, user_obj) -> set[str]:
        perms: set[str] = set()
        for assignment in user_assignments(user_obj):
            perms |= perms_of(assignment.role)
        return perms

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        return super().get_all_permissions(user_obj) | self._role_perms(user_obj)

    def has_module_perms(self, user_obj, app_label):
        return user_obj.is_active and any(
            perm.startswith(app_label + ".") for perm in self.get_all_permissions(user_obj)
        )
