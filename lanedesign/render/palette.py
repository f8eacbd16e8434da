"""Lane fill colours that stay distinct: CIELAB and CIEDE2000, and a greedy spaced palette.

Pure arithmetic (no colour library): sRGB hex -> CIELAB (D65) -> CIEDE2000 difference, the
CIE's perceptual colour distance (1 is about a just-noticeable difference; 10 and more reads
as a different colour side by side). ``spaced_fills`` picks light colours, each as far as
possible (in CIEDE2000) from every colour picked before it, the baseline's grey and white; the
palette in ``svg.LANE_FILLS`` is its output, stored so drawing never pays for the search.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

Lab = tuple[float, float, float]

MIN_LIGHTNESS = 72.0  # L*: black node text on the fill keeps a contrast ratio above 9:1
MIN_CHROMA = 18.0  # C*: no lane fill reads as the baseline's grey
MAX_CHROMA = 60.0  # C*: fills, not signal colours: the marks (fallback, lost) must stand out


def hex_to_lab(colour: str) -> Lab:
    """``#rrggbb`` -> CIELAB under D65."""
    rgb = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    x = (0.4124 * lin[0] + 0.3576 * lin[1] + 0.1805 * lin[2]) / 0.95047
    y = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    z = (0.0193 * lin[0] + 0.1192 * lin[1] + 0.9505 * lin[2]) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116

    fx, fy, fz = f(x), f(y), f(z)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def lab_to_hex(lab: Lab) -> str | None:
    """CIELAB -> ``#rrggbb``, or None when the colour is outside sRGB."""
    lightness, a, b = lab
    fy = (lightness + 16) / 116
    fx, fz = fy + a / 500, fy - b / 200

    def g(t: float) -> float:
        return t ** 3 if t ** 3 > 216 / 24389 else (116 * t - 16) / (24389 / 27)

    x, y, z = g(fx) * 0.95047, g(fy), g(fz) * 1.08883
    lin = (3.2406 * x - 1.5372 * y - 0.4986 * z, -0.9689 * x + 1.8758 * y + 0.0415 * z,
           0.0557 * x - 0.2040 * y + 1.0570 * z)
    if any(c < -1e-4 or c > 1 + 1e-4 for c in lin):
        return None
    rgb = [min(max(c, 0.0), 1.0) for c in lin]
    srgb = [12.92 * c if c <= 0.0031308 else 1.055 * c ** (1 / 2.4) - 0.055 for c in rgb]
    return "#" + "".join(f"{round(c * 255):02x}" for c in srgb)


def ciede2000(lab1: Lab, lab2: Lab) -> float:
    """The CIEDE2000 colour difference (Sharma, Wu and Dalal's formulation)."""
    l1, a1, b1 = lab1
    l2, a2, b2 = lab2
    c_bar = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    g = 0.5 * (1 - math.sqrt(c_bar ** 7 / (c_bar ** 7 + 25 ** 7)))
    a1p, a2p = a1 * (1 + g), a2 * (1 + g)
    c1p, c2p = math.hypot(a1p, b1), math.hypot(a2p, b2)
    h1p = math.degrees(math.atan2(b1, a1p)) % 360 if c1p else 0.0
    h2p = math.degrees(math.atan2(b2, a2p)) % 360 if c2p else 0.0
    dl, dc = l2 - l1, c2p - c1p
    dh = 0.0
    if c1p * c2p:
        dh = h2p - h1p
        dh = dh - 360 if dh > 180 else dh + 360 if dh < -180 else dh
    dhh = 2 * math.sqrt(c1p * c2p) * math.sin(math.radians(dh / 2))
    l_bar, cp_bar = (l1 + l2) / 2, (c1p + c2p) / 2
    if c1p * c2p == 0:
        h_bar = h1p + h2p
    elif abs(h1p - h2p) <= 180:
        h_bar = (h1p + h2p) / 2
    else:
        h_bar = (h1p + h2p + 360) / 2 if h1p + h2p < 360 else (h1p + h2p - 360) / 2
    t = (1 - 0.17 * math.cos(math.radians(h_bar - 30)) + 0.24 * math.cos(math.radians(2 * h_bar))
         + 0.32 * math.cos(math.radians(3 * h_bar + 6))
         - 0.20 * math.cos(math.radians(4 * h_bar - 63)))
    s_l = 1 + 0.015 * (l_bar - 50) ** 2 / math.sqrt(20 + (l_bar - 50) ** 2)
    s_c = 1 + 0.045 * cp_bar
    s_h = 1 + 0.015 * cp_bar * t
    d_theta = 30 * math.exp(-(((h_bar - 275) / 25) ** 2))
    r_c = 2 * math.sqrt(cp_bar ** 7 / (cp_bar ** 7 + 25 ** 7))
    r_t = -math.sin(math.radians(2 * d_theta)) * r_c
    return math.sqrt((dl / s_l) ** 2 + (dc / s_c) ** 2 + (dhh / s_h) ** 2
                     + r_t * (dc / s_c) * (dhh / s_h))


def colour_distance(first: str, second: str) -> float:
    """CIEDE2000 between two ``#rrggbb`` colours."""
    return ciede2000(hex_to_lab(first), hex_to_lab(second))


def min_distance(colours: Sequence[str]) -> float:
    """The smallest CIEDE2000 between any two of ``colours`` (inf for fewer than two)."""
    labs = [hex_to_lab(c) for c in colours]
    return min((ciede2000(p, q) for i, p in enumerate(labs) for q in labs[i + 1:]),
               default=math.inf)


def _candidates() -> list[tuple[str, Lab]]:
    """Light, clearly coloured sRGB colours on a CIELAB grid."""
    found = []
    for lightness in range(72, 97, 4):
        for a in range(-64, 65, 4):
            for b in range(-64, 97, 4):
                if not MIN_CHROMA <= math.hypot(a, b) <= MAX_CHROMA:
                    continue
                colour = lab_to_hex((float(lightness), float(a), float(b)))
                if colour is not None:
                    found.append((colour, hex_to_lab(colour)))
    return found


def spaced_fills(count: int, seeds: Sequence[str] = (), avoid: Sequence[str] = ()) -> list[str]:
    """``seeds``, then colours each as far (CIEDE2000) as possible from all before and from
    ``avoid`` (farthest-point sampling): the first k of the result are well spread for every k.
    """
    chosen = list(seeds)[:count]
    pool = _candidates()
    nearest = [min((ciede2000(lab, hex_to_lab(c)) for c in [*avoid, *chosen]), default=math.inf)
               for _, lab in pool]
    while len(chosen) < count and pool:
        best = max(range(len(pool)), key=nearest.__getitem__)
        colour, lab = pool[best]
        chosen.append(colour)
        nearest = [min(d, ciede2000(lab, other)) for d, (_, other) in zip(nearest, pool)]
    return chosen
