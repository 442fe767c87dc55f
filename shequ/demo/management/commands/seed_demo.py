"""seed_demo [--scale small|city] [--seed N] [--if-empty]: deterministic Danyang demo data."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from shequ.demo import seeding
from shequ.geo.models import Region


class Command(BaseCommand):
    help = "生成丹阳演示数据（确定性）。Seed deterministic Danyang demo data."

    def add_arguments(self, parser):
        parser.add_argument("--scale", choices=seeding.SCALES, default="small")
        parser.add_argument("--seed", type=int, default=20240601)
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing when the database already has regions",
        )
        parser.add_argument("--allow-production", action="store_true")

    def handle(self, *args, scale, seed, if_empty, allow_production, **options):
        if settings.PRODUCTION and not allow_production:
            raise CommandError("生产环境不能生成演示数据（如确需，请加 --allow-production）。")
        if Region.objects.exists():
            if if_empty:
                self.stdout.write("数据库已有数据，跳过演示数据生成。")
                return
            raise CommandError("数据库中已有区域数据；请先运行 make reset-demo 清空。")
        started = time.perf_counter()
        self.stdout.write(f"生成演示数据：scale={scale} seed={seed}")
        ctx = seeding.SeedContext(scale=scale, seed=seed, log=self.stdout.write)
        seeding.run(ctx)
        self.stdout.write(
            f"完成：{time.perf_counter() - started:.1f} s，峰值内存 {seeding.peak_rss_mb():.0f} MB"
        )
