"""Synthetic Chinese personal names, deterministic for a given random generator."""

import random

# Common surnames, weighted roughly by frequency in Jiangsu (most common first).
SURNAMES = (
    "王李张陈刘杨吴黄周徐孙朱马胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛"
    "郝龚邵万钱严覃武戴莫孔向汤眭贡荆殷束"
)
_WEIGHTS = [max(1.0, 40.0 - i * 0.4) for i in range(len(SURNAMES))]
GIVEN_MALE = "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林欢阳建国志文东海峰亮成"
GIVEN_FEMALE = "芳娜敏静丽艳娟霞燕玲婷雪慧琳颖洁倩晶莉萍红梅琴云兰英华秀凤玉珍佳欣怡悦蕾雯露"
GIVEN_NEUTRAL = "子文晨一嘉雨思佳若家宏春秋永德正小新天"


def person_name(rng: random.Random, gender: str | None = None) -> str:
    """A plausible name: surname + one or two given-name characters."""
    surname = rng.choices(SURNAMES, weights=_WEIGHTS)[0]
    if gender is None:
        gender = rng.choice("MF")
    pool = GIVEN_MALE if gender == "M" else GIVEN_FEMALE
    if rng.random() < 0.25:
        return surname + rng.choice(pool)
    return surname + rng.choice(GIVEN_NEUTRAL + pool) + rng.choice(pool)


def surname(rng: random.Random) -> str:
    return rng.choices(SURNAMES, weights=_WEIGHTS)[0]
