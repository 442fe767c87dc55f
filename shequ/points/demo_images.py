"""Simple product pictures for the demo 爱心超市, drawn with Pillow at seed time (no binary files
in the repository): a category colour, a drawing of the kind of goods and the item's name (when
a CJK font is installed; without one the drawing alone)."""

import functools
import io
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

SIZE = 360
BACKGROUND = {
    "粮油": (250, 236, 200),
    "生鲜": (255, 243, 224),
    "调味": (246, 226, 214),
    "日化": (222, 238, 250),
    "日用": (228, 244, 232),
    "服务券": (252, 228, 236),
    "文体": (238, 232, 250),
}
# the drawing for each demo item (by the start of its name)
SHAPES = {
    "大米": "bag",
    "食用油": "bottle",
    "挂面": "box",
    "鸡蛋": "eggs",
    "酱油": "bottle",
    "香醋": "bottle",
    "洗衣液": "jug",
    "洗洁精": "bottle",
    "抽纸": "box",
    "牙膏": "tube",
    "香皂": "soap",
    "毛巾": "towel",
    "保温杯": "cup",
    "折叠雨伞": "umbrella",
    "充电手电筒": "torch",
    "老花镜": "glasses",
    "儿童绘本": "book",
}
INK = (60, 60, 70)
FONT_FILES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "C:/Windows/Fonts/msyh.ttc",
)


@functools.cache
def _font(size: int):
    for path in FONT_FILES:
        if Path(path).exists():
            try:
                # index 2 is Simplified Chinese in the Noto CJK collections
                return ImageFont.truetype(path, size, index=2 if "Noto" in path else 0)
            except OSError:
                continue
    return None


def shape_for(name: str, category: str) -> str:
    for prefix, shape in SHAPES.items():
        if name.startswith(prefix):
            return shape
    return "ticket" if category == "服务券" else "box"


def _draw(draw: ImageDraw.ImageDraw, shape: str, colour) -> None:
    c = SIZE // 2
    dark = tuple(max(0, v - 70) for v in colour)
    if shape == "bag":
        draw.rounded_rectangle([95, 80, 265, 290], 28, fill=(245, 245, 240), outline=INK, width=4)
        draw.polygon([(110, 80), (250, 80), (230, 55), (130, 55)], fill=(225, 225, 215))
        draw.rectangle([115, 150, 245, 220], fill=colour)
    elif shape in ("bottle", "jug"):
        wide = shape == "jug"
        left, right = (100, 260) if wide else (130, 230)
        draw.rectangle([c - 18, 50, c + 18, 85], fill=dark)
        draw.rounded_rectangle([left, 85, right, 295], 30, fill=colour, outline=INK, width=4)
        draw.rectangle([left + 12, 160, right - 12, 230], fill=(255, 255, 255))
        if wide:
            draw.arc([235, 110, 300, 190], 270, 90, fill=INK, width=8)
    elif shape == "eggs":
        draw.rounded_rectangle([55, 170, 305, 290], 16, fill=(205, 180, 140), outline=INK, width=4)
        for i in range(5):
            x = 80 + i * 45
            draw.ellipse([x - 20, 120, x + 20, 180], fill=(250, 235, 205), outline=INK, width=3)
    elif shape == "tube":
        draw.polygon([(70, 160), (260, 130), (260, 230), (70, 200)], fill=colour, outline=INK)
        draw.rectangle([260, 150, 295, 210], fill=dark)
    elif shape == "soap":
        draw.rounded_rectangle([80, 130, 280, 240], 40, fill=colour, outline=INK, width=4)
        draw.ellipse([120, 160, 240, 210], outline=(255, 255, 255), width=4)
    elif shape == "towel":
        draw.rectangle([90, 70, 270, 290], fill=colour, outline=INK, width=4)
        for y in (110, 250):
            draw.rectangle([90, y, 270, y + 14], fill=dark)
    elif shape == "cup":
        draw.rectangle([c - 55, 60, c + 55, 90], fill=dark)
        draw.rounded_rectangle([c - 60, 90, c + 60, 300], 22, fill=colour, outline=INK, width=4)
    elif shape == "umbrella":
        draw.pieslice([60, 70, 300, 290], 180, 360, fill=colour, outline=INK, width=4)
        draw.line([c, 180, c, 290], fill=INK, width=8)
        draw.arc([c - 40, 260, c, 310], 0, 180, fill=INK, width=8)
    elif shape == "torch":
        draw.rectangle([70, 150, 220, 210], fill=colour, outline=INK, width=4)
        draw.polygon([(220, 140), (280, 115), (280, 245), (220, 220)], fill=dark, outline=INK)
        draw.ellipse([285, 150, 305, 210], fill=(255, 230, 120))
    elif shape == "glasses":
        for x in (c - 70, c + 70):
            draw.ellipse([x - 55, 130, x + 55, 230], outline=INK, width=10)
        draw.arc([c - 25, 150, c + 25, 190], 200, 340, fill=INK, width=8)
    elif shape == "book":
        draw.rectangle([80, 70, 280, 290], fill=colour, outline=INK, width=4)
        draw.rectangle([80, 70, 105, 290], fill=dark)
        draw.ellipse([150, 130, 230, 210], fill=(255, 220, 90))
    elif shape == "ticket":
        draw.rounded_rectangle([45, 110, 315, 250], 18, fill=colour, outline=INK, width=4)
        for y in range(120, 245, 18):
            draw.line([230, y, 230, y + 9], fill=INK, width=3)
        draw.ellipse([90, 150, 150, 210], fill=(255, 255, 255), outline=INK, width=3)
    else:  # box
        draw.rectangle([85, 110, 275, 290], fill=colour, outline=INK, width=4)
        draw.polygon([(85, 110), (125, 70), (315, 70), (275, 110)], fill=dark, outline=INK)
        draw.polygon([(275, 110), (315, 70), (315, 250), (275, 290)], fill=dark, outline=INK)


@functools.cache
def item_picture(name: str, category: str) -> bytes:
    """A JPEG picture of a demo store item (the same bytes for the same name)."""
    background = BACKGROUND.get(category, (238, 238, 238))
    colour = tuple(max(0, v - 90) for v in background)
    image = Image.new("RGB", (SIZE, SIZE), background)
    draw = ImageDraw.Draw(image)
    _draw(draw, shape_for(name, category), colour)
    font = _font(30)
    if font is not None:
        label = name if len(name) <= 10 else name[:10]
        box = draw.textbbox((0, 0), label, font=font)
        x = (SIZE - (box[2] - box[0])) / 2 - box[0]
        draw.rounded_rectangle([20, 306, SIZE - 20, 350], 10, fill=(255, 255, 255))
        draw.text((x, 310 - box[1] + 4), label, font=font, fill=INK)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=82)
    return out.getvalue()
