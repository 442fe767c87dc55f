"""Print how to reach the running demo: URL, demo accounts, API."""

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand

from shequ.accounts.demo import demo_accounts_table


def open311_lines(url: str) -> list[str]:
    if not apps.is_installed("shequ.open311"):
        return []
    return [
        f"  Open311 接口：{url}/open311/    演示密钥 api_key：{settings.SHEQU_DEMO_OPEN311_KEY}",
    ]


class Command(BaseCommand):
    help = "Print the demo URL and accounts."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, port, **options):
        url = f"http://127.0.0.1:{port}"
        rows = demo_accounts_table()
        width = max(len(u) for u, _p, _d in rows)
        lines = [
            "",
            "=" * 72,
            f"  丹阳智慧社区 Shequ 演示环境  →  {url}",
            "=" * 72,
            "  演示账号（用户名 / 密码 / 身份）：",
        ]
        lines += [f"    {u.ljust(width)}  {p}  {d}" for u, p, d in rows]
        lines += [
            "",
            f"  API 文档：{url}/api/v1/docs    健康检查：{url}/healthz",
            *open311_lines(url),
            "  也可以用手机号登录，例如 grid 的手机号 19900000004。",
            "  按 Ctrl+C 停止。",
            "=" * 72,
            "",
        ]
        self.stdout.write("\n".join(lines))
