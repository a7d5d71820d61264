"""A deterministic generator of a small SaaS company's Customer Success exports.

:func:`generate` writes one CSV per export kind (``accounts.csv``, ``users.csv``, …) whose
headers are the canonical columns declared in :mod:`cstool.schemas`. The same arguments always
give byte-identical files: every random draw comes from a numpy generator seeded from ``seed``
and the name of the part being drawn, so asking for a subset of the kinds yields exactly the
rows a full run would.

The model behind the data:

* Accounts fall into three segments (Enterprise, Mid-Market, SMB) that set ARR, employees,
  licenses and the number of users. Each account follows a usage *trajectory*: healthy,
  rising (last 2-3 weeks up), declining (falling off over the last 4-8 weeks), sudden drop
  (last 1-2 weeks), low adoption, or onboarding (onboarded inside the window, ramping up).
* Users have a role-driven propensity to be active on a weekday, a set of features they use
  and an event intensity. Some are power users, some are dormant, a few were activated after
  the end date. Usage follows a weekday/weekend rhythm.
* Usage is drawn day by day with numpy, vectorised over all users, and streamed to disk with
  Arrow, so ten million rows need little memory.

Seat *density*: usage rows grow with the number of users, so the model scales the seats
(licenses and users) of every account by ``_density(accounts)``, which depends on nothing but
the number of accounts. It is 1.0 from 500 accounts up (about 22 usage rows per account and
day, i.e. ~10M rows for 5,000 accounts over 90 days) and smaller below, so the shipped sample
(214 accounts, 120 days) stays small enough to ship and to read.
"""

from __future__ import annotations

import csv
import os
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cstool.errors import InputError, UsageError
from cstool.schemas import KINDS, LOAD_ORDER

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]
    IntArray = npt.NDArray[np.int64]
    BoolArray = npt.NDArray[np.bool_]

__all__ = ["FILE_NAMES", "SampleSummary", "generate"]

#: The file each kind is written to.
FILE_NAMES: dict[str, str] = {kind: f"{kind}.csv" for kind in LOAD_ORDER}


@dataclass(frozen=True)
class SampleSummary:
    """What :func:`generate` wrote."""

    directory: Path
    rows: dict[str, int]  # kind -> rows written, in the order of schemas.LOAD_ORDER
    end: date


# --------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------

SEGMENTS = ("Enterprise", "Mid-Market", "SMB")
SEGMENT_WEIGHTS = (0.15, 0.35, 0.50)
ENT, MM, SMB = 0, 1, 2

REGIONS = ("NA", "EMEA", "APAC", "LATAM")
REGION_WEIGHTS = (0.50, 0.28, 0.14, 0.08)

INDUSTRIES = (
    "Healthcare",
    "Financial Services",
    "Retail",
    "Manufacturing",
    "Technology",
    "Education",
    "Media",
    "Logistics",
)
INDUSTRY_WEIGHTS = (0.16, 0.15, 0.12, 0.14, 0.18, 0.08, 0.07, 0.10)
INDUSTRY_NOUNS: tuple[tuple[str, ...], ...] = (
    ("Health", "Medical", "Clinics", "Care Partners", "Diagnostics", "Pharma", "Biosciences",
     "Health Systems", "Dental Group", "Wellness"),
    ("Capital", "Financial", "Bank", "Credit Union", "Insurance", "Wealth", "Payments",
     "Lending", "Trust", "Advisors"),
    ("Retail", "Outfitters", "Market", "Goods", "Apparel", "Home", "Grocers", "Brands",
     "Boutique", "Supply"),
    ("Manufacturing", "Industries", "Components", "Fabrication", "Machining", "Plastics",
     "Steel", "Motors", "Tooling", "Materials"),
    ("Software", "Systems", "Analytics", "Labs", "Networks", "Cloud", "Data", "Digital",
     "Technologies", "Robotics"),
    ("Academy", "University", "Learning", "Schools", "Education", "College", "Institute",
     "Tutoring", "Campus", "Training"),
    ("Media", "Studios", "Publishing", "Broadcasting", "Pictures", "Press", "Entertainment",
     "Radio", "Creative", "Records"),
    ("Logistics", "Freight", "Shipping", "Transport", "Distribution", "Cargo", "Fleet",
     "Couriers", "Warehousing", "Movers"),
)  # fmt: skip
NAME_PREFIXES = (
    "Northwind", "Bluepeak", "Ironwood", "Silverline", "Brightwater", "Cedar", "Summit",
    "Harbor", "Redstone", "Clearview", "Evergreen", "Granite", "Keystone", "Lakeshore", "Maple",
    "Meridian", "Oakridge", "Pinecrest", "Riverbend", "Sterling", "Sunrise", "Westbrook",
    "Whitestone", "Copperfield", "Falcon", "Horizon", "Juniper", "Kestrel", "Lighthouse",
    "Magnolia", "Northstar", "Orchard", "Pioneer", "Quarry", "Ridgeline", "Sable", "Tidewater",
    "Trailhead", "Upland", "Vantage", "Willow", "Zenith", "Alder", "Aspen", "Beacon",
    "Birchwood", "Blackrock", "Bridgeport", "Canyon", "Cascade", "Coastal", "Crescent", "Crown",
    "Driftwood", "Eastgate", "Emerald", "Fairview", "Fieldstone", "Foxglove", "Glacier",
    "Goldleaf", "Greenfield", "Hawthorne", "Highland", "Hillcrest", "Ivory", "Kingsley",
    "Larkspur", "Linden", "Marigold", "Mesa", "Millbrook", "Moonstone", "Mosaic", "Nimbus",
    "Oakmont", "Onyx", "Paragon", "Pebble", "Prairie", "Quicksilver", "Redwood", "Rosewood",
    "Saffron", "Sagebrush", "Seaside", "Sequoia", "Shoreline", "Skyline", "Southport",
    "Starling", "Stonebridge", "Sycamore", "Thornbury", "Timberline", "Topaz", "Union",
    "Verdant", "Vista", "Wavecrest", "Wildflower", "Windmill", "Archway", "Atlas", "Bramble",
    "Cobalt", "Compass", "Cornerstone", "Delta", "Ember", "Everest", "Fjord", "Halcyon", "Heron",
    "Indigo", "Lantern", "Lumen", "Monarch", "Nova", "Orbit", "Pacifica", "Polaris", "Prism",
    "Quill", "Radiant", "Sparrow", "Tandem", "Bayview", "Cinder", "Elmstead",
)  # fmt: skip
NAME_EXTENSIONS = (
    "Holdings", "International", "Worldwide", "Partners", "Collective", "Alliance", "Global",
    "Ventures", "Works", "Enterprises",
)  # fmt: skip
LEGAL_SUFFIXES: tuple[tuple[str, ...], ...] = (
    ("Inc.", "LLC", "Corp.", "", "", "Co."),  # NA
    ("Ltd", "GmbH", "plc", "B.V.", "AG", "", "S.A.", "AB"),  # EMEA
    ("Pty Ltd", "Pte. Ltd.", "Ltd", "", "K.K."),  # APAC
    ("S.A.", "Ltda.", "S.A. de C.V.", ""),  # LATAM
)
# (position, name, industry, region): names that exercise encodings and CSV quoting.
SPECIAL_ACCOUNTS = (
    (3, "Société Générale Logistique", "Logistics", "EMEA"),
    (11, 'Whitaker, Lane & "Partners" LLC', "Financial Services", "NA"),
    (17, "Müller & Söhne GmbH", "Manufacturing", "EMEA"),
    (42, "Señora Cocina Distribución S.A.", "Retail", "LATAM"),
    (88, "Kōgen Robotics K.K.", "Technology", "APAC"),
    (131, "Ærøskøbing Media ApS", "Media", "EMEA"),
    (177, "São Paulo Saúde Ltda.", "Healthcare", "LATAM"),
)
LEGAL_WORDS = frozenset(
    [
        "inc",
        "llc",
        "corp",
        "co",
        "ltd",
        "gmbh",
        "plc",
        "bv",
        "ag",
        "sa",
        "ab",
        "pty",
        "pte",
        "kk",
        "ltda",
        "de",
        "cv",
        "aps",
    ]
)

FIRST_NAMES = (
    "James", "Mary", "Olivia", "Liam", "Noah", "Emma", "Ava", "Sophia", "Mason", "Ethan",
    "Isabella", "Mia", "Lucas", "Amelia", "Harper", "Elijah", "Aiden", "Chloe", "Grace", "Henry",
    "Jack", "Leah", "Nora", "Owen", "Ruby", "Samuel", "Zoe", "Daniel", "Hannah", "Isaac",
    "Julia", "Kevin", "Laura", "Michael", "Natalie", "Oscar", "Rachel", "Sarah", "Thomas",
    "Victoria", "William", "Aaron", "Brooke", "Caleb", "Diana", "Erin", "Felix", "Gavin",
    "Hazel", "Ian", "Jasmine", "Kyle", "Lily", "Megan", "Nathan", "Paige", "Quinn", "Ryan",
    "Tessa", "Wyatt",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson",
    "Taylor", "Thomas", "Moore", "Martin", "Jackson", "Thompson", "White", "Harris", "Clark",
    "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Hill", "Green",
    "Adams", "Baker", "Nelson", "Carter", "Mitchell", "Roberts", "Turner", "Phillips",
    "Campbell", "Parker", "Evans", "Edwards", "Collins", "Stewart", "Morris", "Murphy", "Cook",
    "Rogers", "Morgan", "Cooper", "Peterson", "Reed", "Bailey", "Bell", "Kelly", "Howard",
    "Ward", "Cox", "Richardson", "Wood", "Brooks", "O'Brien", "Sullivan", "Hughes",
)  # fmt: skip
REGIONAL_FIRST = (
    ("Madison", "Tyler", "Brandon", "Ashley", "Jordan", "Kayla", "Austin", "Morgan"),
    ("Björn", "Søren", "Chloé", "François", "Jürgen", "Łukasz", "Renée", "Mathilde", "Giulia",
     "Lars", "Ingrid", "Matteo", "Amélie", "Pieter", "Freya", "Niamh", "Siobhán", "Hélène"),
    ("Hiroshi", "Yuki", "Wei", "Mei", "Arjun", "Priya", "Ji-woo", "Minh", "Aarav", "Siti",
     "Haruto", "Ananya", "Kenji", "Lin"),
    ("José", "María", "Camila", "Mateo", "Valentina", "Santiago", "Lucía", "Diego", "Sofía",
     "Joaquín", "Gabriela", "Andrés", "Isabela", "João"),
)  # fmt: skip
REGIONAL_LAST = (
    ("Nguyen", "Patel", "Garcia", "Kowalski", "Rivera", "Foster", "Hayes", "Bennett"),
    ("Müller", "Schmidt", "Dubois", "Lefèvre", "Rossi", "Bianchi", "Jansen", "de Vries",
     "Nowak", "Kowalczyk", "Johansson", "Nielsen", "Høgh", "O'Neill", "Fischer", "Weber",
     "Lindqvist", "Moreau"),
    ("Tanaka", "Suzuki", "Wang", "Li", "Chen", "Nguyen", "Kim", "Park", "Sharma", "Patel",
     "Gupta", "Tan", "Lim", "Wong"),
    ("González", "Rodríguez", "Pérez", "Fernández", "López", "Silva", "Santos", "Oliveira",
     "Ramírez", "Torres", "Castillo", "Herrera", "Souza", "Navarro"),
)  # fmt: skip

CSMS = (
    "Dana Whitfield",
    "Marcus Oyelaran",
    "Priya Raman",
    "Tomás Herrera",
    "Elena Kowalski",
    "Jordan Blake",
)
CSM_WEIGHTS = (0.2, 0.18, 0.18, 0.16, 0.15, 0.13)
ACCOUNT_EXECUTIVES = (
    "Chris Lindqvist",
    "Aisha Morgan",
    "Ben Tanaka",
    "Sofia Marchetti",
    "Ryan O'Connell",
)

ROLES = ("Executive Sponsor", "Admin", "Power User", "End User")
SPONSOR, ADMIN, POWER, END_USER = 0, 1, 2, 3
LEVELS = ("CXO", "VP", "Director", "Manager", "Staff")
# Probability of each level per role.
LEVEL_WEIGHTS = (
    (0.55, 0.45, 0.0, 0.0, 0.0),
    (0.0, 0.0, 0.25, 0.45, 0.30),
    (0.0, 0.02, 0.18, 0.45, 0.35),
    (0.0, 0.0, 0.04, 0.21, 0.75),
)

# The feature catalogue, in the (alphabetical) order usage rows are sorted by.
FEATURES = (
    "ai_assistant",
    "alerts",
    "api",
    "audit_log",
    "custom_fields",
    "dashboards",
    "forecasting",
    "integrations",
    "mobile_app",
    "reports",
    "sso",
    "workflows",
)
F_AI = FEATURES.index("ai_assistant")
F_DASH = FEATURES.index("dashboards")
F_REPORTS = FEATURES.index("reports")
F_MOBILE = FEATURES.index("mobile_app")
# Probability that a segment (Enterprise, Mid-Market, SMB) is entitled to each feature.
ENTITLEMENT = (
    (0.80, 0.50, 0.20),
    (1.00, 1.00, 1.00),
    (0.95, 0.60, 0.20),
    (0.95, 0.40, 0.05),
    (0.90, 0.70, 0.40),
    (1.00, 1.00, 1.00),
    (0.85, 0.50, 0.15),
    (0.95, 0.75, 0.35),
    (0.90, 0.80, 0.60),
    (1.00, 1.00, 1.00),
    (0.98, 0.60, 0.10),
    (0.90, 0.70, 0.35),
)
# Chance an active user touches each feature on a day (audit_log and custom_fields: nobody).
POPULARITY = (0.30, 0.35, 0.04, 0.0, 0.0, 0.85, 0.18, 0.06, 0.20, 0.50, 0.45, 0.28)
ADMIN_POPULARITY = (0.30, 0.45, 0.45, 0.0, 0.0, 0.85, 0.15, 0.40, 0.15, 0.50, 0.60, 0.50)
# Events per feature-day relative to the user's intensity.
INTENSITY = (1.5, 1.0, 8.0, 1.0, 1.0, 2.0, 1.2, 3.0, 1.5, 1.2, 0.4, 1.5)
AI_LAUNCH_DAYS_BEFORE_END = 34
# Weekday factor, Monday first.
WEEKDAY_FACTOR = (1.0, 1.05, 1.05, 1.0, 0.85, 0.10, 0.07)

# Account trajectories.
HEALTHY, RISING, DECLINING, DROP, LOW, ONBOARDING = range(6)
TRAJECTORY_WEIGHTS = (0.52, 0.12, 0.14, 0.08, 0.14)  # all but ONBOARDING
ONBOARDING_SHARE = 0.08
ACTIVITY_SCALE = 0.95  # calibrates usage to ~22 rows per account and day at full density

STAGES = ("Onboarding", "Adopting", "Mature", "At Risk", "Renewing")
OPPORTUNITY_STAGES = (
    "Prospecting",
    "Discovery",
    "Proposal",
    "Negotiation",
    "Closed Won",
    "Closed Lost",
)
# Days since creation for each open stage.
OPEN_STAGE_AGE = ((3, 45), (10, 75), (20, 110), (30, 150))
OPPORTUNITY_STAGE_WEIGHTS = (0.10, 0.15, 0.15, 0.10, 0.30, 0.20)
OPPORTUNITY_KINDS = (
    "New Business",
    "New Business",
    "New Business",
    "Pilot",
    "Expansion",
    "Enterprise Rollout",
)

PRODUCT_DOMAIN = "brightloop.example"
CAMPAIGNS = (
    ("onboarding-welcome", "help/articles/getting-started"),
    ("feature-tips-dashboards", "dashboards"),
    ("feature-tips-workflows", "workflows/new"),
    ("webinar-invite", "webinars/reporting-masterclass"),
    ("adoption-nudge", "reports/new"),
    ("ai-assistant-launch", "ai-assistant"),
    ("renewal-reminder", "billing/renewal"),
    ("release-notes", "help/release-notes"),
)
MAIL_CLIENT_AGENTS = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)",
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148",
)
BROWSER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Mobile Safari/537.36",
)

NPS_COMMENTS = (
    # detractors (0-6)
    (
        "Too slow when loading large reports.",
        "We struggled with onboarding, and support took days to respond.",
        "Hard to get the team to use it.",
        "Missing features we were promised at renewal.",
        "Export keeps failing, we're evaluating alternatives.",
        "Our champion left and nobody knows how to configure workflows.",
        "Price went up 20% and we use half of it.",
    ),
    # passives (7-8)
    (
        "Good overall, but reporting could be more flexible.",
        "Works fine; pricing is a bit high.",
        "Mobile app needs work.",
        "Would like more integrations, especially with our ERP.",
        "Solid tool. Training materials could be better.",
        "Dashboards are great, alerts are noisy.",
    ),
    # promoters (9-10)
    (
        "Great product, the dashboards save us hours every week.",
        "Support team is fantastic.",
        "Easy to use and our execs love the reports.",
        "Alerts keep us ahead of problems.",
        "Très bien, merci !",
        "Best tool we've bought this year.",
        "The new AI assistant is a game changer.",
    ),
)
SPECIAL_COMMENT = (
    'Love the dashboards, but the "Export to Excel" button is hard to find.\n'
    "Please move it back to the toolbar."
)
NPS_MEAN = (9.0, 9.2, 6.6, 7.2, 6.0, 8.3)  # by trajectory

# Timeline entries per trajectory: (type, subject, body, anchor, lo, hi). The date is drawn
# lo..hi days before the end ("end"), lo..hi days after onboarding ("start") or anywhere in
# the timeline ("any"). The first entry of each trajectory is always written.
ACTIVITY_TEMPLATES: dict[int, tuple[tuple[str, str, str, str, int, int], ...]] = {
    HEALTHY: (
        ("meeting", "Quarterly business review",
         "QBR with {sponsor}. Adoption is steady across teams, {feature} is the most used "
         "feature. Agreed next steps: roll out to one more department.", "any", 0, 0),
        ("update", "Health update", "Healthy: usage stable, sponsor engaged, renewal on track.",
         "end", 0, 30),
        ("email", "Shared {feature} best practices",
         "Sent the best-practice guide for {feature} and invited admins to office hours.",
         "any", 0, 0),
        ("note", "Reference candidate",
         "{sponsor} said they would be happy to talk to prospects, \"as long as it's short\".",
         "any", 0, 0),
    ),
    RISING: (
        ("meeting", "Expansion discussion",
         "{sponsor} wants to roll out to the {dept} team, about {n} new users. Discussed "
         "adding licenses before renewal.", "end", 2, 20),
        ("milestone", "New team onboarded", "{dept} team onboarded; usage up week over week.",
         "end", 0, 12),
        ("call", "Check-in call with {sponsor_first}",
         "Usage is growing fast. Asked about {feature} training for the new users.", "end", 0, 10),
        ("update", "Health update", "Healthy and growing: weekly active users rising.",
         "end", 0, 7),
    ),
    DECLINING: (
        ("call", "Usage review call",
         "Usage is down about {pct}% over the last month. {sponsor} mentioned a reorg, and "
         "the team is reviewing priorities.\nNext step: schedule a working session.",
         "end", 0, 20),
        ("update", "Risk review", "At risk: declining usage, sponsor hard to reach.",
         "end", 0, 28),
        ("email", "Follow-up on open support tickets",
         "Followed up on two open tickets about {feature}; asked for a call next week.",
         "end", 10, 50),
        ("meeting", "Executive sponsor meeting",
         "Met {sponsor} to agree a recovery plan: re-train admins, relaunch {feature}.",
         "end", 0, 14),
    ),
    DROP: (
        ("update", "Champion change",
         "Our champion, {champion}, left the company last week. Need a new champion.",
         "end", 2, 9),
        ("call", "Intro call with new admin",
         "Intro with the new admin. They are not yet familiar with {feature}.", "end", 0, 5),
        ("note", "Internal note",
         "Weekly active users dropped sharply. Possible causes: champion change, outage "
         "on their side, budget freeze.", "end", 0, 7),
    ),
    LOW: (
        ("update", "Risk review", "Low adoption: {pct}% of licenses active. Renewal at risk.",
         "any", 0, 0),
        ("call", "Adoption call",
         "Only a handful of users log in weekly. Admin asked for training on {feature}.",
         "any", 0, 0),
        ("email", "Sent onboarding resources",
         "Re-sent the onboarding guide, the admin checklist and the {feature} video.",
         "any", 0, 0),
        ("meeting", "Success plan workshop",
         "Workshop with {sponsor} to define success metrics, owners and a 60-day plan.",
         "any", 0, 0),
    ),
    ONBOARDING: (
        ("meeting", "Kickoff meeting",
         "Kickoff with {sponsor}. Goals: consolidate reporting, roll out {feature} to the "
         "{dept} team.\nTarget go-live in 30 days.", "start", 0, 2),
        ("milestone", "Kickoff completed", "Kickoff completed; project plan shared.",
         "start", 1, 4),
        ("email", "Sent onboarding resources",
         "Sent the onboarding guide, admin checklist and training calendar.", "start", 0, 5),
        ("meeting", "Admin training session",
         "Trained {admins} admins on setup, SSO and {feature}.", "start", 7, 14),
        ("milestone", "Go-live", "Go-live completed, first users active.", "start", 25, 40),
    ),
}  # fmt: skip
GENERIC_ACTIVITIES = (
    ("call", "Check-in call with {sponsor_first}",
     "Regular check-in with {sponsor}. Discussed open tickets and the {feature} roadmap."),
    ("email", "Shared release notes",
     "Shared the monthly release notes, highlighting {feature} improvements."),
    ("note", "Support ticket review",
     "Reviewed {n} support tickets from the last month; nothing critical."),
    ("meeting", "Roadmap preview", "Roadmap preview with the admins, focused on {feature}."),
    ("call", "Billing question", "Answered a question from their finance team, invoice re-sent."),
)  # fmt: skip
DEPARTMENTS = ("Finance", "Operations", "Sales", "Marketing", "Support", "IT", "HR", "Product")

# Parts of the model, each drawn from its own random stream.
_STREAMS = (
    "accounts",
    "users",
    "features",
    "usage",
    "nps",
    "email_events",
    "activities",
    "opportunities",
    "references",
)


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def generate(
    out_dir: Path,
    *,
    accounts: int = 214,
    days: int = 120,
    seed: int = 7,
    end: date = date(2026, 11, 20),
    kinds: Iterable[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SampleSummary:
    """Write a deterministic sample of every export kind (or of ``kinds``) into ``out_dir``.

    Usage covers the ``days`` days ending at ``end`` inclusive. The same arguments always
    produce byte-identical files. No existing file is overwritten: if any target file
    exists, :class:`~cstool.errors.InputError` is raised before anything is written. Each
    file is written to ``<name>.tmp`` and renamed into place. ``progress(done, total)`` is
    called as the usage days are written.
    """
    if accounts < 1:
        raise UsageError("accounts must be at least 1", hint="pass a positive number")
    if days < 1:
        raise UsageError("days must be at least 1", hint="pass a positive number")
    wanted = _requested_kinds(kinds)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir} is not a directory", hint="choose a directory")
    targets = {kind: out_dir / FILE_NAMES[kind] for kind in wanted}
    for path in targets.values():
        if path.exists():
            raise InputError(
                f"{path} already exists", hint="choose an empty directory or remove the file"
            )
    out_dir.mkdir(parents=True, exist_ok=True)

    world = _build_world(accounts, days, seed, end)
    rows: dict[str, int] = {}
    opportunities: list[_Opportunity] = []
    if "opportunities" in wanted or "references" in wanted:
        opportunities = _opportunities(world, seed)
    for kind in wanted:
        path = targets[kind]
        if kind == "usage":
            rows[kind] = _atomic(path, lambda tmp: _write_usage(tmp, world, seed, progress))
            continue
        records: Iterable[Sequence[str]]
        if kind == "accounts":
            records = _accounts_rows(world)
        elif kind == "users":
            records = _users_rows(world)
        elif kind == "features":
            records = _features_rows(world)
        elif kind == "nps":
            records = _nps_rows(world, seed)
        elif kind == "email_events":
            records = _email_rows(world, seed)
        elif kind == "activities":
            records = _activities_rows(world, seed)
        elif kind == "opportunities":
            records = (o.row() for o in opportunities)
        else:
            records = _reference_rows(world, seed, opportunities)
        rows[kind] = _atomic(path, _csv_writer(kind, records))
    return SampleSummary(directory=out_dir, rows=rows, end=end)


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _requested_kinds(kinds: Iterable[str] | None) -> list[str]:
    """The requested kinds in load order; unknown names are a usage error."""
    if kinds is None:
        return list(LOAD_ORDER)
    asked = list(kinds)
    for name in asked:
        if name not in KINDS:
            raise UsageError(
                f"unknown export kind {name!r}", hint="choose one of: " + ", ".join(LOAD_ORDER)
            )
    return [kind for kind in LOAD_ORDER if kind in asked]


def _rng(seed: int, stream: str) -> np.random.Generator:
    """An independent random stream per part of the model, so subsets match full runs."""
    import numpy as np

    return np.random.default_rng([seed, _STREAMS.index(stream)])


def _density(accounts: int) -> float:
    """Seat density: 1.0 from 500 accounts up, fewer seats per account for smaller samples."""
    return min(1.0, float((accounts / 500) ** 2.5))


def _next_anniversary(start: date, after: date) -> date:
    """The first yearly anniversary of ``start`` later than ``after`` (29 Feb -> 28 Feb)."""
    years = max(1, after.year - start.year)
    while True:
        day = min(start.day, 28) if start.month == 2 else start.day
        candidate = date(start.year + years, start.month, day)
        if candidate > after:
            return candidate
        years += 1


def _ident(prefix: str, number: int, width: int) -> str:
    return f"{prefix}-{number:0{width}d}"


def _width(count: int, minimum: int) -> int:
    return max(minimum, len(str(count)))


_TRANSLIT = str.maketrans(
    {"ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "ß": "ss", "œ": "oe", "ł": "l", "Ł": "L", "đ": "d"}
)


def _ascii_slug(text: str, keep_legal: bool = True) -> str:
    """Lowercase ASCII letters and digits only: 'Müller & Söhne GmbH' -> 'mullersohnegmbh'."""
    folded = unicodedata.normalize("NFKD", text.translate(_TRANSLIT))
    plain = folded.encode("ascii", "ignore").decode("ascii").lower()
    words = ["".join(ch for ch in w if ch.isalnum()) for w in plain.replace(".", "").split()]
    if not keep_legal:
        words = [w for w in words if w not in LEGAL_WORDS]
    return "".join(words)


def _day(value: date | None) -> str:
    return "" if value is None else value.isoformat()


def _flag(value: object) -> str:
    return "true" if value else "false"


def _csv_writer(kind: str, records: Iterable[Sequence[str]]) -> Callable[[Path], int]:
    """A writer of ``records`` (already formatted as text) under the kind's canonical header."""
    header = KINDS[kind].column_names

    def write(path: Path) -> int:
        with path.open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(header)
            count = 0
            for record in records:
                writer.writerow(record)
                count += 1
        return count

    return write


def _atomic(path: Path, write: Callable[[Path], int]) -> int:
    """Write ``path`` through ``path.tmp`` and rename it into place; return the row count."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        count = write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return count


# --------------------------------------------------------------------------------------------
# The world: accounts, users, entitlements and usage trajectories
# --------------------------------------------------------------------------------------------


@dataclass
class _World:
    start: date
    end: date
    days: int
    acc_ids: list[str]
    names: list[str]
    stems: list[str]  # the names without legal suffix, unique
    domains: list[str]
    industry: list[str]
    region: IntArray
    segment: IntArray
    arr: IntArray
    licenses: IntArray
    employees: IntArray
    csm: list[str]
    stage: list[str]
    onboarding: list[date]
    renewal: list[date]
    traj: IntArray
    traj_mult: FloatArray  # accounts x days
    enabled: BoolArray  # accounts x features
    user_ids: list[str]
    user_acct: IntArray
    first: list[str]
    last: list[str]
    email: list[str]
    role: IntArray
    level: list[str]
    activated: list[date | None]
    start_day: IntArray  # first day index of possible activity
    stop_day: IntArray  # first day index of no more activity
    advocate: BoolArray
    unsubscribed: BoolArray
    propensity: FloatArray
    feature_prob: FloatArray  # users x features
    intensity: FloatArray
    primary: IntArray

    def account_users(self) -> list[list[int]]:
        out: list[list[int]] = [[] for _ in self.acc_ids]
        for u, a in enumerate(self.user_acct.tolist()):
            out[a].append(u)
        return out


def _company_names(
    rng: np.random.Generator,
    industries: Sequence[int],
    regions: Sequence[int],
    taken: Iterable[str] = (),
) -> list[tuple[str, str]]:
    """Unique (display name, name without legal suffix) pairs that read like companies."""
    seen: set[str] = set(taken)
    out: list[tuple[str, str]] = []
    for ind, reg in zip(industries, regions, strict=True):
        nouns = INDUSTRY_NOUNS[ind]
        base = ""
        for attempt in range(60):
            prefix = NAME_PREFIXES[int(rng.integers(len(NAME_PREFIXES)))]
            noun = nouns[int(rng.integers(len(nouns)))]
            base = f"{prefix} {noun}"
            if attempt >= 20:
                base += " " + NAME_EXTENSIONS[int(rng.integers(len(NAME_EXTENSIONS)))]
            if base not in seen:
                break
        number = 2
        stem = base
        while stem in seen:
            stem = f"{base} {number}"
            number += 1
        seen.add(stem)
        suffixes = LEGAL_SUFFIXES[reg]
        suffix = "" if INDUSTRIES[ind] == "Education" else suffixes[rng.integers(len(suffixes))]
        out.append((f"{stem} {suffix}".strip(), stem))
    return out


def _trajectory_multipliers(
    rng: np.random.Generator, traj: IntArray, onboard_day: IntArray, days: int
) -> FloatArray:
    """Per account and day, how active the account is relative to its normal level."""
    import numpy as np

    n = len(traj)
    t = np.arange(days, dtype=np.float64)
    before_end = (days - 1) - t  # days before the end date
    m = np.ones((n, days))
    week = (before_end // 7).astype(np.int64)
    noise = np.exp(rng.normal(0.0, 0.07, size=(n, int(week.max()) + 1)))
    m *= noise[:, week]
    m *= np.exp(rng.normal(0.0, 0.05, size=(n, days)))
    for a in range(n):
        kind = int(traj[a])
        if kind == RISING:
            k0 = float(rng.integers(14, 22))
            top = float(rng.uniform(1.5, 2.0))
            grow = np.clip((k0 - before_end) / k0, 0.0, 1.0)
            m[a] *= 0.85 + (top - 0.85) * grow
        elif kind == DECLINING:
            k0 = float(rng.integers(28, 57))
            floor = float(rng.uniform(0.15, 0.45))
            fall = np.clip((k0 - before_end) / k0, 0.0, 1.0)
            m[a] *= 1.0 - (1.0 - floor) * fall
        elif kind == DROP:
            k1 = float(rng.integers(7, 15))
            floor = float(rng.uniform(0.2, 0.4))
            m[a] *= np.where(before_end < k1, floor, 1.0)
        elif kind == LOW:
            m[a] *= 0.4
        elif kind == ONBOARDING:
            tau = float(rng.uniform(10.0, 20.0))
            since = t - float(onboard_day[a])
            ramp = 0.05 + 0.95 * (1.0 - np.exp(-np.clip(since, 0.0, None) / tau))
            m[a] *= np.where(since < 0, 0.0, ramp)
    return m


def _build_world(accounts: int, days: int, seed: int, end: date) -> _World:
    import numpy as np

    rng = _rng(seed, "accounts")
    start = end - timedelta(days=days - 1)
    density = _density(accounts)

    segment = rng.choice(3, size=accounts, p=SEGMENT_WEIGHTS)
    industry = rng.choice(len(INDUSTRIES), size=accounts, p=INDUSTRY_WEIGHTS)
    region = rng.choice(len(REGIONS), size=accounts, p=REGION_WEIGHTS)
    for pos, _name, ind, reg in SPECIAL_ACCOUNTS:
        if pos < accounts:
            industry[pos] = INDUSTRIES.index(ind)
            region[pos] = REGIONS.index(reg)
    named = _company_names(rng, industry.tolist(), region.tolist())
    names = [n for n, _ in named]
    bases = [b for _, b in named]
    for pos, name, _ind, _reg in SPECIAL_ACCOUNTS:
        if pos < accounts:
            names[pos] = bases[pos] = name
    domains: list[str] = []
    used: set[str] = set()
    for base in bases:
        stem = _ascii_slug(base, keep_legal=False)
        domain, number = stem, 2
        while domain in used:
            domain = f"{stem}{number}"
            number += 1
        used.add(domain)
        domains.append(domain + ".example")

    def by_segment(values: tuple[float, float, float], sigma: float) -> FloatArray:
        mean = np.log(np.array(values))[segment]
        drawn: FloatArray = np.exp(rng.normal(mean, sigma))
        return drawn

    arr_draw = np.round(by_segment((320_000, 65_000, 12_000), 0.45) / 100) * 100
    arr = np.clip(arr_draw, np.array([150_000, 25_000, 3_000])[segment], None).astype(np.int64)
    staff = by_segment((12_000, 800, 60), 0.7)
    employees = np.clip(staff, np.array([2_000, 200, 5])[segment], None).astype(np.int64)
    full_seats = by_segment((290, 85, 15), 0.45)
    seats = np.maximum(np.array([25, 8, 3])[segment], np.round(full_seats * density))
    licenses = np.where(seats > 20, np.round(seats / 5) * 5, seats).astype(np.int64)
    csm = [CSMS[i] for i in rng.choice(len(CSMS), size=accounts, p=CSM_WEIGHTS)]

    traj = rng.choice(5, size=accounts, p=TRAJECTORY_WEIGHTS)
    n_onboarding = round(ONBOARDING_SHARE * accounts) if days >= 21 else 0
    if n_onboarding:
        traj[np.sort(rng.choice(accounts, size=n_onboarding, replace=False))] = ONBOARDING
    onboard_day = np.where(
        traj == ONBOARDING,
        np.floor(rng.uniform(0.15, 0.7, size=accounts) * days),
        -rng.integers(20, 1100, size=accounts),
    ).astype(np.int64)
    onboarding = [start + timedelta(days=int(d)) for d in onboard_day]
    renewal = []
    for o in onboarding:
        renewal.append(_next_anniversary(o, end))
    flagged = rng.random(accounts) < 0.75
    stage = []
    for a in range(accounts):
        kind = int(traj[a])
        if kind == ONBOARDING or (end - onboarding[a]).days < 90:
            stage.append("Onboarding")
        elif kind in (DECLINING, DROP, LOW) and flagged[a]:
            stage.append("At Risk")
        elif (renewal[a] - end).days <= 60:
            stage.append("Renewing")
        elif (end - onboarding[a]).days > 540:
            stage.append("Mature")
        else:
            stage.append("Adopting")
    traj_mult = _trajectory_multipliers(rng, traj, onboard_day, days)

    frng = _rng(seed, "features")
    entitle = np.array(ENTITLEMENT)[:, segment].T  # accounts x features
    enabled = frng.random((accounts, len(FEATURES))) < entitle

    users = _build_users(
        seed,
        start,
        end,
        days,
        segment,
        region,
        traj,
        licenses,
        onboard_day,
        enabled,
        domains,
        accounts,
    )
    return _World(
        start=start,
        end=end,
        days=days,
        acc_ids=[_ident("ACC", i + 1, _width(accounts, 5)) for i in range(accounts)],
        names=names,
        stems=bases,
        domains=domains,
        industry=[INDUSTRIES[i] for i in industry],
        region=region,
        segment=segment,
        arr=arr,
        licenses=licenses,
        employees=employees,
        csm=csm,
        stage=stage,
        onboarding=onboarding,
        renewal=renewal,
        traj=traj,
        traj_mult=traj_mult,
        enabled=enabled,
        **users,
    )


def _build_users(
    seed: int,
    start: date,
    end: date,
    days: int,
    segment: IntArray,
    region: IntArray,
    traj: IntArray,
    licenses: IntArray,
    onboard_day: IntArray,
    enabled: BoolArray,
    domains: list[str],
    accounts: int,
) -> dict[str, Any]:
    import numpy as np

    rng = _rng(seed, "users")
    deploy = np.where(
        rng.random(accounts) < 0.2,
        rng.uniform(0.25, 0.6, size=accounts),
        rng.uniform(0.75, 1.05, size=accounts),
    )
    deploy = np.where(traj == ONBOARDING, np.minimum(deploy, 0.7), deploy)
    counts = np.maximum(2, np.round(licenses * deploy)).astype(np.int64)
    n = int(counts.sum())
    user_acct = np.repeat(np.arange(accounts), counts)
    pos_in_acct = np.arange(n) - np.repeat(np.cumsum(counts) - counts, counts)

    # Roles: one sponsor and one admin per account, then a mix; shuffled within the account.
    role = np.where(
        rng.random(n) < 0.03, ADMIN, np.where(rng.random(n) < 0.10, POWER, END_USER)
    ).astype(np.int64)
    role[pos_in_acct == 0] = SPONSOR
    role[pos_in_acct == 1] = ADMIN
    order = np.lexsort((rng.random(n), user_acct))
    role = role[order]

    lw = np.array(LEVEL_WEIGHTS)
    level_draw = rng.random(n)
    level_idx = (level_draw[:, None] > np.cumsum(lw, axis=1)[role]).sum(axis=1)
    level = [LEVELS[min(i, len(LEVELS) - 1)] for i in level_idx.tolist()]

    # Activation: key people first, most users within a month, the rest trickle in.
    acct_start = onboard_day[user_acct]
    horizon = np.maximum(days - acct_start, 1)  # the trickle stops at the end date
    early = rng.integers(0, 31, size=n)
    late = np.floor(rng.random(n) * horizon).astype(np.int64)
    offset = np.where(rng.random(n) < 0.55, early, late)
    offset = np.where(role <= ADMIN, rng.integers(0, 8, size=n), offset)
    rising_new = (traj[user_acct] == RISING) & (rng.random(n) < 0.2) & (role > ADMIN)
    start_day = acct_start + offset
    start_day = np.where(rising_new, days - 1 - rng.integers(0, 21, size=n), start_day)
    future = (rng.random(n) < 0.005) & (role > ADMIN)
    start_day = np.where(future, days + rng.integers(1, 31, size=n), start_day)
    blank = (rng.random(n) < 0.06) & (role != SPONSOR)
    activated: list[date | None] = [
        None if b else start + timedelta(days=int(d))
        for b, d in zip(blank.tolist(), start_day.tolist(), strict=True)
    ]
    stop_day = np.where(
        rng.random(n) < 0.03, rng.integers(0, days + 1, size=n), days + 1000
    ).astype(np.int64)

    # How active each user is on a weekday, and which features they touch.
    propensity = np.select(
        [role == SPONSOR, role == ADMIN, role == POWER],
        [
            rng.uniform(0.04, 0.15, size=n),
            rng.uniform(0.6, 0.9, size=n),
            rng.uniform(0.75, 0.95, size=n),
        ],
        rng.beta(1.2, 6.0, size=n),
    )
    dormant_share = np.where(traj[user_acct] == LOW, 0.35, 0.10)
    dormant = (role == END_USER) & (rng.random(n) < dormant_share)
    propensity = np.where(dormant, np.where(rng.random(n) < 0.7, 0.0, 0.02), propensity)
    propensity = propensity * ACTIVITY_SCALE

    # Feature choice: popularity by role x the user's breadth x a per-feature affinity, much
    # lower for features the account is not entitled to. Computed in place to save memory.
    pop_by_role = np.array([np.zeros(len(FEATURES)), ADMIN_POPULARITY, POPULARITY, POPULARITY])
    pop_by_role[SPONSOR, [F_DASH, F_REPORTS, F_MOBILE]] = (0.9, 0.5, 0.2)
    breadth = np.exp(rng.normal(0.0, 0.35, size=n)) * np.array([0.0, 1.0, 1.5, 0.55])[role]
    breadth[role == SPONSOR] = 1.0
    fprob = rng.uniform(0.5, 1.5, size=(n, len(FEATURES)))
    fprob *= pop_by_role[role]
    fprob *= breadth[:, None]
    for f in range(len(FEATURES)):
        fprob[~enabled[user_acct, f], f] *= 0.015
    np.clip(fprob, 0.0, 0.97, out=fprob)
    ai_column = fprob[:, F_AI].copy()
    fprob[:, F_AI] = -1.0  # the main feature is never the newly launched one
    primary = fprob.argmax(axis=1).astype(np.int64)
    fprob[:, F_AI] = ai_column
    intensity = np.exp(rng.normal(np.log(1.6), 0.6, size=n)) * np.where(role == POWER, 1.8, 1.0)

    # Names and emails (unique; a number is added when a name repeats within an account).
    slugs = {
        name: _ascii_slug(name)
        for pool in (FIRST_NAMES, LAST_NAMES, *REGIONAL_FIRST, *REGIONAL_LAST)
        for name in pool
    }
    first: list[str] = []
    last: list[str] = []
    email: list[str] = []
    pick = rng.random((n, 4))
    user_region = region[user_acct]
    regional_first = pick[:, 0] < 0.45
    regional_last = pick[:, 1] < 0.45
    first_len = np.where(
        regional_first, np.array([len(p) for p in REGIONAL_FIRST])[user_region], len(FIRST_NAMES)
    )
    last_len = np.where(
        regional_last, np.array([len(p) for p in REGIONAL_LAST])[user_region], len(LAST_NAMES)
    )
    first_idx = (pick[:, 2] * first_len).astype(np.int64).tolist()
    last_idx = (pick[:, 3] * last_len).astype(np.int64).tolist()
    seen: set[str] = set()  # addresses of the current account (users are grouped by account)
    current = -1
    for u, (a, reg, rf, rl) in enumerate(
        zip(
            user_acct.tolist(),
            user_region.tolist(),
            regional_first.tolist(),
            regional_last.tolist(),
            strict=True,
        )
    ):
        fn = (REGIONAL_FIRST[reg] if rf else FIRST_NAMES)[first_idx[u]]
        ln = (REGIONAL_LAST[reg] if rl else LAST_NAMES)[last_idx[u]]
        if a != current:
            seen.clear()
            current = a
        addr = f"{slugs[fn]}.{slugs[ln]}@{domains[a]}"
        number = 2
        while addr in seen:
            addr = f"{slugs[fn]}.{slugs[ln]}{number}@{domains[a]}"
            number += 1
        seen.add(addr)
        first.append(fn)
        last.append(ln)
        email.append(addr)

    # Advocates: mostly on healthy accounts, never dormant or not yet active.
    weight = np.array([1.0, 1.0, 0.05, 0.08, 0.05, 0.25])[traj[user_acct]]
    weight = weight * np.array([3.0, 2.0, 2.0, 0.6])[role]
    weight = np.where((propensity <= 0.02) | (start_day >= days) | (stop_day <= days), 0, weight)
    advocate = np.zeros(n, dtype=bool)
    n_adv = min(max(1, round(0.05 * n)), int((weight > 0).sum()))
    if n_adv:
        advocate[rng.choice(n, size=n_adv, replace=False, p=weight / weight.sum())] = True
    unsubscribed = rng.random(n) < 0.03

    return {
        "user_ids": [_ident("USR", i + 1, _width(n, 6)) for i in range(n)],
        "user_acct": user_acct.astype(np.int64),
        "first": first,
        "last": last,
        "email": email,
        "role": role,
        "level": level,
        "activated": activated,
        "start_day": start_day.astype(np.int64),
        "stop_day": stop_day,
        "advocate": advocate,
        "unsubscribed": unsubscribed,
        "propensity": propensity,
        "feature_prob": fprob,
        "intensity": intensity,
        "primary": primary,
    }


# --------------------------------------------------------------------------------------------
# Rows of each kind, formatted as text
# --------------------------------------------------------------------------------------------


def _accounts_rows(w: _World) -> Iterator[list[str]]:
    for a in range(len(w.acc_ids)):
        yield [
            w.acc_ids[a],
            w.names[a],
            w.industry[a],
            SEGMENTS[int(w.segment[a])],
            str(w.arr[a]),
            str(w.licenses[a]),
            w.csm[a],
            w.stage[a],
            w.onboarding[a].isoformat(),
            w.renewal[a].isoformat(),
            str(w.employees[a]),
            REGIONS[int(w.region[a])],
        ]


def _users_rows(w: _World) -> Iterator[list[str]]:
    accounts = [w.acc_ids[a] for a in w.user_acct.tolist()]
    roles = [ROLES[r] for r in w.role.tolist()]
    advocate = [_flag(v) for v in w.advocate.tolist()]
    unsubscribed = [_flag(v) for v in w.unsubscribed.tolist()]
    for u in range(len(w.user_ids)):
        yield [
            w.user_ids[u],
            accounts[u],
            w.email[u],
            w.first[u],
            w.last[u],
            roles[u],
            w.level[u],
            _day(w.activated[u]),
            advocate[u],
            unsubscribed[u],
        ]


def _features_rows(w: _World) -> Iterator[list[str]]:
    enabled = w.enabled.tolist()
    for a, account in enumerate(w.acc_ids):
        for f, feature in enumerate(FEATURES):
            yield [account, feature, _flag(enabled[a][f])]


def _write_usage(
    path: Path, w: _World, seed: int, progress: Callable[[int, int], None] | None
) -> int:
    """Stream usage day by day: draw each day for all users at once, write it with Arrow.

    A day's rows come out sorted by user and feature because active users are taken in ID
    order and the feature catalogue is alphabetical; a (date, user, feature) appears once.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = _rng(seed, "usage")
    options = pacsv.WriteOptions(include_header=False, quoting_style="none", batch_size=1 << 16)
    user_col = pa.array(w.user_ids, type=pa.string())
    acct_col = pa.array([w.acc_ids[a] for a in w.user_acct.tolist()], type=pa.string())
    feature_col = pa.array(FEATURES, type=pa.string())
    intensity = np.array(INTENSITY)
    launch = w.days - 1 - AI_LAUNCH_DAYS_BEFORE_END
    total = 0
    if progress is not None:
        progress(0, w.days)
    with pa.OSFile(str(path), "wb") as sink:
        sink.write((",".join(KINDS["usage"].column_names) + "\n").encode("utf-8"))
        for t in range(w.days):
            day = w.start + timedelta(days=t)
            since = t - w.start_day
            ramp = np.where(since < 0, 0.0, np.where(since < 7, 0.6, 1.0))
            ramp = np.where(t >= w.stop_day, 0.0, ramp)
            weekday = WEEKDAY_FACTOR[day.weekday()]
            prob = w.propensity * w.traj_mult[:, t][w.user_acct] * (weekday * ramp)
            active = np.flatnonzero(rng.random(len(prob)) < np.minimum(prob, 0.97))
            day_feature = np.ones(len(FEATURES))
            day_feature[F_AI] = 0.0 if t < launch else min(1.0, (t - launch + 1) / 21)
            chosen = rng.random((len(active), len(FEATURES))) < (
                w.feature_prob[active] * day_feature
            )
            none = np.flatnonzero(~chosen.any(axis=1))
            chosen[none, w.primary[active[none]]] = True  # an active user uses something
            row, feat = np.nonzero(chosen)
            users = active[row]
            events = 1 + rng.poisson(w.intensity[users] * intensity[feat])
            events[rng.random(len(events)) < 0.01] = 0  # 'no activity' rows
            n = len(users)
            if n:
                table = pa.table(
                    {
                        "date": pa.array(np.full(n, np.datetime64(day.isoformat(), "D"))),
                        "account_id": acct_col.take(pa.array(users)),
                        "user_id": user_col.take(pa.array(users)),
                        "feature": feature_col.take(pa.array(feat)),
                        "events": pa.array(events.astype(np.int64)),
                    }
                )
                pacsv.write_csv(table, sink, options)
            total += n
            if progress is not None:
                progress(t + 1, w.days)
    pa.default_memory_pool().release_unused()
    return total


def _nps_rows(w: _World, seed: int) -> Iterator[list[str]]:
    """About one response per three users, scores following the account's health."""
    import numpy as np

    rng = _rng(seed, "nps")
    n_users = len(w.user_ids)
    eligible = np.flatnonzero((w.start_day < w.days - 1) & (w.propensity > 0))
    count = min(len(eligible), round(n_users / 3))
    chosen = np.sort(rng.choice(eligible, size=count, replace=False))
    draws = rng.random((count, 4))
    noise = rng.standard_normal(count)
    acct = w.user_acct[chosen]
    first_day = np.maximum(0, w.start_day[chosen] + 1)
    day = first_day + np.floor(draws[:, 0] * (w.days - first_day)).astype(np.int64)
    health = w.traj_mult[acct, day]
    mean = np.array(NPS_MEAN)[w.traj[acct]] - 2.0 * np.maximum(0.0, 1.0 - health)
    score = np.clip(np.round(mean + 1.8 * noise), 0, 10).astype(np.int64)
    band = np.where(score <= 6, 0, np.where(score <= 8, 1, 2))
    has_comment = draws[:, 1] < 0.4
    anonymous = draws[:, 3] < 0.02
    order = np.lexsort((chosen, acct, day))
    width = _width(count, 5)
    special_done = False
    for i, k in enumerate(order.tolist()):
        comment = ""
        if has_comment[k]:
            pool = NPS_COMMENTS[int(band[k])]
            comment = pool[int(draws[k, 2] * len(pool))]
        if not special_done and 4 <= score[k] <= 8:  # a comma, quotes and a newline
            comment, special_done = SPECIAL_COMMENT, True
        yield [
            _ident("NPS", i + 1, width),
            (w.start + timedelta(days=int(day[k]))).isoformat(),
            "" if anonymous[k] else w.user_ids[int(chosen[k])],
            w.acc_ids[int(acct[k])],
            str(score[k]),
            comment,
        ]


def _email_rows(w: _World, seed: int) -> Iterator[list[str]]:
    """Provider events for tech-touch emails: delivered or bounced, then opens and clicks."""
    import numpy as np

    rng = _rng(seed, "email_events")
    count = max(1, round(len(w.acc_ids) * w.days * 0.25))
    weekdays = [t for t in range(w.days) if (w.start + timedelta(days=t)).weekday() < 5]
    if not weekdays:
        weekdays = list(range(w.days))
    send_day = np.array(weekdays)[rng.integers(0, len(weekdays), size=count)]
    send_sec = rng.integers(8 * 3600, 17 * 3600, size=count)
    send_at = np.sort(send_day * 86400 + send_sec).tolist()
    campaign = rng.integers(0, len(CAMPAIGNS), size=count).tolist()
    draws = rng.random((count, 8)).tolist()
    delays = (rng.lognormal(np.log(5400), 1.3, size=(count, 2)).astype(np.int64) + 1).tolist()
    limit = w.days * 86400 - 1
    urls = [
        f"https://app.{PRODUCT_DOMAIN}/{path}?utm_source=cstool&utm_medium=email"
        f"&utm_campaign={name}"
        for name, path in CAMPAIGNS
    ]
    events: list[tuple[int, int, int, str, str]] = []  # (second, message, event, url, agent)
    for m in range(count):
        at = send_at[m]
        d = draws[m]
        if d[0] < 0.025:
            events.append((at + 2, m, 3, "", ""))  # bounce
            continue
        events.append((at + 2, m, 0, "", ""))  # delivered
        opened = at + delays[m][0]
        if d[1] < 0.0006:
            events.append((opened, m, 5, "", ""))  # complaint
            continue
        if d[1] >= 0.45:
            continue
        client = MAIL_CLIENT_AGENTS[int(d[2] * len(MAIL_CLIENT_AGENTS))]
        browser = BROWSER_AGENTS[int(d[4] * len(BROWSER_AGENTS))]
        events.append((opened, m, 1, "", client))
        if d[3] < 0.25:
            events.append((opened + 60 + delays[m][1], m, 1, "", client))
        if d[5] < 0.28:
            events.append((opened + 5 + int(d[6] * 600), m, 2, urls[campaign[m]], browser))
        if d[7] < 0.012:
            events.append((opened + 30 + int(d[6] * 300), m, 4, "", browser))
    events = [e for e in events if e[0] <= limit]  # later events have not happened yet
    events.sort()
    origin = datetime.combine(w.start, time())
    width = _width(count, 6)
    names = ("delivered", "open", "click", "bounce", "unsubscribe", "complaint")
    for at, m, e, url, agent in events:
        stamp = (origin + timedelta(seconds=at)).strftime("%Y-%m-%dT%H:%M:%SZ")
        yield [f"<msg-{m + 1:0{width}d}@cstool.example>", names[e], stamp, url, agent]


def _activities_rows(w: _World, seed: int) -> list[list[str]]:
    """The CSM's timeline of each account, phrased after and dated by its trajectory."""
    import numpy as np

    rng = _rng(seed, "activities")
    span = max(w.days, 90)
    first_day = w.end - timedelta(days=span - 1)
    people = w.account_users()
    at_risk = np.isin(w.traj, [DECLINING, DROP, LOW])
    counts = rng.poisson(np.array([9.0, 5.0, 2.5])[w.segment] + np.where(at_risk, 3.0, 0.0))
    raw: list[tuple[date, int, str, str, str]] = []
    for a in range(len(w.acc_ids)):
        kind = int(w.traj[a])
        members = people[a]
        sponsor = next((u for u in members if w.role[u] == SPONSOR), members[0])
        champion = next((u for u in members if w.role[u] == ADMIN), members[-1])
        onboarded = w.onboarding[a]
        lo = max(first_day, onboarded)
        window = (w.end - lo).days + 1
        if window <= 0:
            continue
        mentioned = [
            feature.replace("_", " ")
            for f, feature in enumerate(FEATURES)
            if w.enabled[a, f] and POPULARITY[f] > 0 and f != F_AI
        ]
        specific = ACTIVITY_TEMPLATES[kind]
        rest = 1 + rng.permutation(len(specific) - 1)
        picked = [specific[0]] + [specific[int(i)] for i in rest]
        total = max(1, int(counts[a]))
        if kind == ONBOARDING:
            picked, total = list(specific), max(total, len(specific))
        chosen: list[tuple[str, str, str, str, int, int]] = picked[:total]
        for _ in range(total - len(chosen)):
            typ, subject, body = GENERIC_ACTIVITIES[int(rng.integers(len(GENERIC_ACTIVITIES)))]
            chosen.append((typ, subject, body, "any", 0, 0))
        for typ, subject, body, anchor, low, high in chosen:
            if anchor == "end":
                when = w.end - timedelta(days=int(rng.integers(low, high + 1)))
            elif anchor == "start":
                when = onboarded + timedelta(days=int(rng.integers(low, high + 1)))
            else:
                when = lo + timedelta(days=int(rng.integers(window)))
            values = {
                "sponsor": f"{w.first[sponsor]} {w.last[sponsor]}",
                "sponsor_first": w.first[sponsor],
                "champion": f"{w.first[champion]} {w.last[champion]}",
                "feature": mentioned[int(rng.integers(len(mentioned)))],
                "dept": DEPARTMENTS[int(rng.integers(len(DEPARTMENTS)))],
                "n": int(rng.integers(3, 40)),
                "pct": int(rng.integers(25, 65)),
                "admins": int(rng.integers(2, 7)),
            }
            if when > w.end:  # not happened yet (a go-live still ahead)
                continue
            when = max(when, lo)
            raw.append((when, a, typ, subject.format(**values), body.format(**values)))
    raw.sort(key=lambda r: (r[0], r[1]))
    width = _width(len(raw), 5)
    return [
        [_ident("ACT", i + 1, width), w.acc_ids[a], when.isoformat(), typ, w.csm[a], subj, body]
        for i, (when, a, typ, subj, body) in enumerate(raw)
    ]


@dataclass(frozen=True)
class _Opportunity:
    opportunity_id: str
    name: str
    industry: str
    amount: int
    stage: str
    created: date
    close: date
    owner: str

    def row(self) -> list[str]:
        return [
            self.opportunity_id,
            self.name,
            self.industry,
            str(self.amount),
            self.stage,
            self.created.isoformat(),
            self.close.isoformat(),
            _flag(self.stage == "Closed Won"),
            self.owner,
        ]


def _opportunities(w: _World, seed: int) -> list[_Opportunity]:
    """Sales opportunities with prospects (never existing customers)."""
    import numpy as np

    rng = _rng(seed, "opportunities")
    count = max(10, round(len(w.acc_ids) * 60 / 214))
    industry = rng.choice(len(INDUSTRIES), size=count, p=INDUSTRY_WEIGHTS)
    region = rng.choice(len(REGIONS), size=count, p=REGION_WEIGHTS)
    prospects = _company_names(rng, industry.tolist(), region.tolist(), taken=w.stems)
    stage = rng.choice(len(OPPORTUNITY_STAGES), size=count, p=OPPORTUNITY_STAGE_WEIGHTS)
    width = _width(count, 5)
    out: list[_Opportunity] = []
    for i in range(count):
        kind = OPPORTUNITY_KINDS[int(rng.integers(len(OPPORTUNITY_KINDS)))]
        st = OPPORTUNITY_STAGES[int(stage[i])]
        closed = st.startswith("Closed")
        if closed:
            created = w.end - timedelta(days=int(rng.integers(30, 365)))
            length = int(rng.integers(20, 150))
            close = min(
                created + timedelta(days=length), w.end - timedelta(days=int(rng.integers(0, 10)))
            )
            close = max(close, created + timedelta(days=7))
        else:
            age = OPEN_STAGE_AGE[OPPORTUNITY_STAGES.index(st)]
            created = w.end - timedelta(days=int(rng.integers(age[0], age[1] + 1)))
            close = max(
                created + timedelta(days=int(rng.integers(30, 180))),
                w.end + timedelta(days=int(rng.integers(7, 60))),
            )
        amount = int(round(float(rng.lognormal(np.log(60_000), 0.8)) / 500) * 500)
        out.append(
            _Opportunity(
                opportunity_id=_ident("OPP", i + 1, width),
                name=f"{prospects[i][1]} – {kind}",
                industry=INDUSTRIES[int(industry[i])],
                amount=max(amount, 5_000),
                stage=st,
                created=created,
                close=close,
                owner=ACCOUNT_EXECUTIVES[int(rng.integers(len(ACCOUNT_EXECUTIVES)))],
            )
        )
    return out


def _reference_rows(w: _World, seed: int, opportunities: Sequence[_Opportunity]) -> list[list[str]]:
    """Past reference calls by advocates of healthy accounts for late-stage opportunities."""
    import numpy as np

    rng = _rng(seed, "references")
    all_advocates = np.flatnonzero(w.advocate).tolist()
    healthy = [u for u in all_advocates if int(w.traj[int(w.user_acct[u])]) in (HEALTHY, RISING)]
    advocates = healthy or all_advocates
    late = ("Proposal", "Negotiation", "Closed Won", "Closed Lost")
    asking = [o for o in opportunities if o.stage in late] or list(opportunities)
    if not advocates or not asking:
        return []
    count = max(5, round(len(w.acc_ids) * 40 / 214))
    weights = np.array([3.0 if o.stage == "Closed Won" else 1.0 for o in asking])
    raw: list[tuple[date, str, int, str]] = []
    for _ in range(count):
        opp = asking[int(rng.choice(len(asking), p=weights / weights.sum()))]
        u = advocates[int(rng.integers(len(advocates)))]
        latest = min(opp.close, w.end)
        when = opp.created + timedelta(
            days=int(rng.integers(0, max(1, (latest - opp.created).days + 1)))
        )
        roll = float(rng.random())
        if opp.stage == "Closed Won":
            outcome = "Influenced win" if roll < 0.65 else "Call completed"
        elif roll < 0.7:
            outcome = "Call completed"
        else:
            outcome = "Declined" if roll < 0.85 else "Rescheduled"
        raw.append((when, opp.opportunity_id, u, outcome))
    raw.sort(key=lambda r: (r[0], r[1], r[2]))
    width = _width(len(raw), 5)
    return [
        [
            _ident("REF", i + 1, width),
            w.acc_ids[int(w.user_acct[u])],
            w.user_ids[u],
            opp_id,
            when.isoformat(),
            outcome,
        ]
        for i, (when, opp_id, u, outcome) in enumerate(raw)
    ]
