"""Print how to reach the running demo: URL, demo accounts, API."""

from django.core.management.base import BaseCommand

from shequ.accounts.demo import demo_accounts_table


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
            "  也可以用手机号登录，例如 grid 的手机号 19900000004。",
            "  按 Ctrl+C 停止。",
            "=" * 72,
            "",
        ]
        self.stdout.write("\n".join(lines))
