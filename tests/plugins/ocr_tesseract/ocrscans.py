"""Imitation scans for OCR tests: French text drawn with a TrueType font, tilted and noisy."""

from __future__ import annotations

import random

from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def scanned_page(
    lines: list[str], size: tuple[int, int] = (1240, 700), font_size: int = 34, seed: int = 1
) -> Image.Image:
    """A grayscale "scan": text, a slight tilt, blur, gaussian noise and dust specks."""
    rng = random.Random(seed)
    page = Image.new("L", size, 255)
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype(FONT, font_size)
    y = 60
    for line in lines:
        draw.text((70, y), line, fill=25, font=font)
        y += int(font_size * 1.6)
    page = page.rotate(0.6, resample=Image.Resampling.BICUBIC, fillcolor=255)
    page = page.filter(ImageFilter.GaussianBlur(0.6))
    noise = Image.effect_noise(size, 28)
    page = Image.blend(page, noise, 0.18)
    draw = ImageDraw.Draw(page)
    for _ in range(size[0] * size[1] // 4000):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        draw.point((x, y), fill=rng.choice((0, 60, 120)))
    return page


INVOICE_LINES = [
    "Quincaillerie Dupont SARL",
    "14 avenue de la Republique, 69003 Lyon",
    "FACTURE N° Q-2024-0815 du 12/03/2024",
    "Vis inox 4x40 (boite de 200)        18,90 EUR",
    "Total TTC                           22,68 EUR",
]

SECOND_FRAME_LINES = [
    "Menuiserie Lefebvre",
    "Bon de livraison numero 5521",
    "Livre le 14/03/2024 a Villeurbanne",
]
