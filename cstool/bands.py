"""The five adoption bands, their order and their colours: defined once for every output.

Terminal tables use the matching named colours (see ``console.BAND_STYLES``); charts, HTML and
PPTX use these hex values, so a band looks the same in every report.
"""

from __future__ import annotations

BANDS = ("green", "lime", "yellow", "orange", "red")
BAND_RANK = {b: i for i, b in enumerate(reversed(BANDS))}  # red 0 ... green 4

# Readable on white and distinct from each other; yellow is deep enough for a thin line.
BAND_COLOURS: dict[str, str] = {
    "green": "#2e7d32",
    "lime": "#7cb342",
    "yellow": "#f2b705",
    "orange": "#ef6c00",
    "red": "#c62828",
}
NO_BAND_COLOUR = "#9e9e9e"

# Text drawn on a band's fill: dark on the light bands, white on the dark ones.
BAND_TEXT_COLOURS: dict[str, str] = {
    "green": "#ffffff",
    "lime": "#1b1b1b",
    "yellow": "#1b1b1b",
    "orange": "#ffffff",
    "red": "#ffffff",
}


def colour(band: str | None) -> str:
    """The hex colour of a band; grey for a missing one."""
    return BAND_COLOURS.get(band or "", NO_BAND_COLOUR)
