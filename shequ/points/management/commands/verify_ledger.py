"""verify_ledger: recompute every balance from the entries; exit 1 on any mismatch."""

import sys
import time

from django.core.management.base import BaseCommand

from shequ.points.ledger import ledger_totals, ledger_violations


class Command(BaseCommand):
    help = "核对积分账本：由分录重算每个账户余额并检查每笔转账借贷平衡；有差异时退出码为 1。"

    def add_arguments(self, parser):
        parser.add_argument("--quiet", action="store_true", help="只在有差异时输出")

    def handle(self, *args, quiet, **options):
        started = time.perf_counter()
        violations = ledger_violations()
        totals = ledger_totals()
        elapsed = time.perf_counter() - started
        if violations:
            for violation in violations[:100]:
                self.stderr.write(str(violation))
            self.stderr.write(
                f"账本不一致：{len(violations)} 处差异（{totals['transfers']} 笔转账，"
                f"{totals['entries']} 条分录，用时 {elapsed:.2f} s）。"
            )
            sys.exit(1)
        if not quiet:
            self.stdout.write(
                f"账本一致：{totals['transfers']} 笔转账，{totals['entries']} 条分录，"
                f"分录合计 {totals['sum']}，用时 {elapsed:.2f} s。"
            )
