"""Deterministic demo and test data for the source (OLTP) PostgreSQL database.

Why: the pipeline, its tests, the demo and the benchmarks need a sales database with the original Airflow examples'
shapes (customers in Enterprise/SMB/Consumer segments and sales regions, products in categories,
sales with discounts, taxes and a status) at any size, and the same bytes for the same arguments so
that results, screenshots and timings are reproducible. With `dirty=True` it also carries the bad
rows real exports carry (orphan keys, NULLs, odd Unicode, future dates, off-list labels...), so the
quality checks have something to find; without it the data is clean.

How: numpy's `default_rng` draws everything vectorized. Sales are made in chunks of whole hours,
each chunk from its own seeded stream, and streamed to PostgreSQL with binary COPY, so memory stays
bounded and 10M sales load in well under a minute. Nothing reads the wall clock: `as_of` is the
dataset's "now" and every timestamp, `updated_at` included, derives from the data.

`apply_activity` then plays one more hour on an existing database (new sales, status changes, a few
customers moving), deterministic given its seed and the database's state, for incremental-load demos.
"""

from __future__ import annotations

import math
import time
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from importlib import resources
from typing import Callable, Iterator, Optional

import numpy as np
import pandas as pd
import psycopg

Progress = Optional[Callable[[str], None]]

SEGMENTS = ("Enterprise", "SMB", "Consumer")
SEGMENT_SHARES = (0.04, 0.16, 0.80)
SEGMENT_BUYING_POWER = (6.0, 2.5, 1.0)
REGIONS = ("North America", "Europe", "Asia Pacific", "Latin America")
REGION_TAX_BP = (750, 2000, 1000, 1600)  # basis points on (total - discount)
UNKNOWN_TAX_BP = 1000
STATUSES = ("COMPLETED", "PENDING", "CANCELLED", "REFUNDED")
COMPLETED, PENDING, CANCELLED, REFUNDED = range(4)
HISTORY_MONTHS = 27

# (region, country, relative weight, states/provinces)
GEOGRAPHY = (
    ("North America", "United States", 30.0,
     ("California", "Texas", "New York", "Florida", "Illinois", "Washington", "Pennsylvania", "Georgia")),
    ("North America", "Canada", 6.0, ("Ontario", "Quebec", "British Columbia", "Alberta")),
    ("Europe", "United Kingdom", 7.0, ("England", "Scotland", "Wales", "Northern Ireland")),
    ("Europe", "Germany", 6.0, ("Bavaria", "Berlin", "Hamburg", "Hesse", "North Rhine-Westphalia")),
    ("Europe", "France", 5.0,
     ("Île-de-France", "Auvergne-Rhône-Alpes", "Provence-Alpes-Côte d'Azur", "Occitanie")),
    ("Europe", "Spain", 3.0, ("Madrid", "Catalonia", "Andalusia", "Valencia")),
    ("Europe", "Italy", 3.0, ("Lombardy", "Lazio", "Veneto", "Tuscany")),
    ("Europe", "Netherlands", 2.0, ("North Holland", "South Holland", "Utrecht")),
    ("Europe", "Sweden", 1.5, ("Stockholm", "Västra Götaland", "Skåne")),
    ("Europe", "Poland", 1.5, ("Masovian", "Lesser Poland", "Silesian")),
    ("Europe", "Ireland", 1.0, ("Leinster", "Munster", "Connacht")),
    ("Europe", "Switzerland", 1.0, ("Zürich", "Geneva", "Bern")),
    ("Europe", "Belgium", 1.0, ("Flanders", "Wallonia", "Brussels-Capital")),
    ("Europe", "Portugal", 1.0, ("Lisbon", "Porto", "Braga")),
    ("Europe", "Denmark", 1.0, ("Capital Region", "Central Denmark", "Southern Denmark")),
    ("Asia Pacific", "Australia", 4.0, ("New South Wales", "Victoria", "Queensland", "Western Australia")),
    ("Asia Pacific", "New Zealand", 1.0, ("Auckland", "Wellington", "Canterbury")),
    ("Asia Pacific", "Japan", 4.0, ("Tokyo", "Osaka", "Kanagawa", "Aichi")),
    ("Asia Pacific", "China", 3.0, ("Guangdong", "Shanghai", "Beijing", "Zhejiang")),
    ("Asia Pacific", "India", 3.0, ("Maharashtra", "Karnataka", "Tamil Nadu", "Delhi")),
    ("Asia Pacific", "Singapore", 1.5, ("Central Region", "East Region", "North-East Region", "West Region")),
    ("Asia Pacific", "South Korea", 2.0, ("Seoul", "Busan", "Gyeonggi")),
    ("Asia Pacific", "Indonesia", 1.0, ("Jakarta", "West Java", "East Java")),
    ("Asia Pacific", "Vietnam", 1.0, ("Ho Chi Minh City", "Hanoi", "Da Nang")),
    ("Latin America", "Mexico", 3.0, ("Mexico City", "Jalisco", "Nuevo León")),
    ("Latin America", "Brazil", 3.0, ("São Paulo", "Rio de Janeiro", "Minas Gerais")),
    ("Latin America", "Argentina", 1.5, ("Buenos Aires", "Córdoba", "Santa Fe")),
    ("Latin America", "Chile", 1.0, ("Santiago Metropolitan", "Valparaíso", "Biobío")),
    ("Latin America", "Colombia", 1.0, ("Bogotá", "Antioquia", "Valle del Cauca")),
    ("Latin America", "Peru", 0.8, ("Lima", "Arequipa", "Cusco")),
)

# Name pools per region (index as in REGIONS): (first names, last names).
NAMES = (
    (("James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
      "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Daniel", "Emily",
      "Matthew", "Ashley", "Anthony", "Olivia", "Mark", "Emma", "Liam", "Noah", "Sophia", "Ava", "Ethan",
      "Chloe", "Benjamin", "Madison"),
     ("Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
      "Wilson", "Anderson", "Taylor", "Thomas", "Moore", "Jackson", "Martin", "Lee", "Thompson", "White",
      "Harris", "Clark", "Lewis", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Nguyen", "O'Brien",
      "MacDonald", "Tremblay", "Roy", "Campbell", "Mitchell")),
    (("Lukas", "Emma", "Hannah", "Léa", "Louis", "Chloé", "Hugo", "Sofia", "Mateo", "Lucía", "Giulia",
      "Alessandro", "Lars", "Astrid", "Anna", "Jan", "Zofia", "Jakub", "Siobhán", "Seán", "Noah", "Mia",
      "Élodie", "Björn", "Ingrid", "Sophie", "Oliver", "Amelia", "George", "Isla", "João", "Inês",
      "Maximilian", "Freya"),
     ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Martin", "Bernard", "Dubois", "Lefèvre",
      "García", "Fernández", "López", "Rossi", "Russo", "Bianchi", "de Vries", "Jansen", "Andersson",
      "Johansson", "Nowak", "Kowalski", "Wiśniewski", "Murphy", "Kelly", "Smith", "Jones", "Taylor", "Silva",
      "Santos", "Ferreira", "Peeters", "Jensen", "Nielsen", "Meier", "Gruber", "Dupont")),
    (("Hiroshi", "Yuki", "Haruto", "Sakura", "Wei", "Li", "Jing", "Min-jun", "Seo-yeon", "Ji-ho", "Aarav",
      "Priya", "Rahul", "Ananya", "Arjun", "Siti", "Budi", "Jack", "Charlotte", "Lachlan", "Chloe", "Mia",
      "Ethan", "Ruby", "Minh", "Linh", "Kai", "Mei", "Ren", "Aiko"),
     ("Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Wang", "Li", "Zhang", "Liu", "Chen", "Kim", "Lee",
      "Park", "Choi", "Sharma", "Patel", "Singh", "Kumar", "Gupta", "Tan", "Lim", "Ng", "Wijaya", "Santoso",
      "Smith", "Brown", "Wilson", "Nguyen", "Tran", "Pham")),
    (("Santiago", "Sofía", "Mateo", "Valentina", "Sebastián", "Camila", "Diego", "Isabella", "Matías",
      "Lucía", "Nicolás", "Mariana", "Gabriel", "Ana", "João", "Beatriz", "Pedro", "Larissa", "Alejandro",
      "Fernanda", "Andrés", "Daniela", "Joaquín", "Renata"),
     ("González", "Rodríguez", "Hernández", "López", "Martínez", "Pérez", "García", "Sánchez", "Ramírez",
      "Torres", "Flores", "Silva", "Santos", "Oliveira", "Souza", "Pereira", "Costa", "Fernández", "Rojas",
      "Muñoz", "Díaz", "Vargas", "Castillo", "Gómez")),
)
COMPANY_WORDS = ("Logistics", "Consulting", "Manufacturing", "Retail", "Systems", "Foods", "Healthcare",
                 "Engineering", "Media", "Construction", "Solutions", "Trading", "Labs", "Energy", "Design",
                 "Analytics", "Hospitality", "Education", "Outfitters", "Supply")
COMPANY_SUFFIXES = {  # legal-form suffixes per country
    "United States": ("Inc.", "LLC", "Corp."), "Canada": ("Inc.", "Ltd"), "United Kingdom": ("Ltd", "PLC"),
    "Germany": ("GmbH", "AG"), "France": ("SAS", "SA"), "Spain": ("S.L.", "S.A."),
    "Italy": ("S.r.l.", "S.p.A."), "Netherlands": ("B.V.", "N.V."), "Sweden": ("AB",),
    "Poland": ("Sp. z o.o.", "S.A."), "Ireland": ("Ltd", "DAC"), "Switzerland": ("AG", "GmbH"),
    "Belgium": ("BV", "NV"), "Portugal": ("Lda.", "S.A."), "Denmark": ("ApS", "A/S"),
    "Australia": ("Pty Ltd",), "New Zealand": ("Ltd",), "Japan": ("K.K.", "G.K."), "China": ("Co. Ltd",),
    "India": ("Pvt Ltd", "Ltd"), "Singapore": ("Pte Ltd",), "South Korea": ("Co. Ltd",),
    "Indonesia": ("Tbk",), "Vietnam": ("JSC", "Co. Ltd"), "Mexico": ("S.A. de C.V.",),
    "Brazil": ("Ltda.", "S.A."), "Argentina": ("S.A.", "S.R.L."), "Chile": ("SpA", "S.A."),
    "Colombia": ("S.A.S.",), "Peru": ("S.A.C.",),
}
MAIL_DOMAINS = ("gmail.com", "outlook.com", "yahoo.com", "icloud.com", "hotmail.com", "proton.me")

# category -> (catalog share, brands, {subcategory: (median list price in dollars, product nouns)})
CATALOG = {
    "Electronics": (0.20, ("Sonix", "Voltra", "Nimbus", "Kestrel", "Auralis"), {
        "Smartphones": (600, ("Smartphone", "Phone")), "Laptops": (1000, ("Laptop", "Ultrabook")),
        "Headphones": (120, ("Wireless Headphones", "Earbuds")), "Televisions": (700, ("4K TV", "OLED TV")),
        "Cameras": (500, ("Mirrorless Camera", "Action Camera")),
        "Accessories": (25, ("USB-C Charger", "Phone Case", "HDMI Cable"))}),
    "Apparel": (0.20, ("Northway", "Lumen & Co", "Urbanist", "Fieldcraft"), {
        "Tops": (25, ("T-Shirt", "Polo Shirt", "Blouse")), "Bottoms": (45, ("Jeans", "Chinos", "Skirt")),
        "Outerwear": (120, ("Rain Jacket", "Down Parka")),
        "Footwear": (85, ("Running Shoes", "Leather Boots")),
        "Activewear": (40, ("Leggings", "Training Shorts"))}),
    "Home & Garden": (0.18, ("Hearthstone", "Greenleaf", "Casa Nova", "Oakline"), {
        "Furniture": (300, ("Sofa", "Desk", "Bookshelf")), "Kitchen": (40, ("Chef's Knife", "Cookware Set")),
        "Bedding": (60, ("Duvet Cover", "Pillow Set")), "Lighting": (55, ("Floor Lamp", "Pendant Light")),
        "Garden Tools": (35, ("Pruning Shears", "Garden Hose")), "Decor": (30, ("Wall Mirror", "Vase"))}),
    "Sports & Outdoors": (0.12, ("Summit", "Trailhead", "Velo", "ProServe"), {
        "Fitness Equipment": (120, ("Dumbbell Set", "Yoga Mat")), "Camping": (90, ("Tent", "Sleeping Bag")),
        "Cycling": (350, ("Road Bike", "Bike Helmet")), "Team Sports": (30, ("Football", "Basketball"))}),
    "Books": (0.12, ("Penwright Press", "Bluebird Books", "Atlas House"), {
        "Fiction": (16, ("Novel", "Thriller")), "Non-Fiction": (22, ("Biography", "History")),
        "Children's Books": (10, ("Picture Book", "Storybook")),
        "Textbooks": (85, ("Textbook", "Workbook"))}),
    "Beauty": (0.10, ("Lumière", "Verde", "Pure Botanica"), {
        "Skincare": (28, ("Moisturizer", "Serum")), "Makeup": (20, ("Lipstick", "Mascara")),
        "Fragrance": (70, ("Eau de Parfum", "Cologne")), "Hair Care": (18, ("Shampoo", "Conditioner"))}),
    "Toys & Games": (0.08, ("Brightblock", "Playwell", "Tinker Toys"), {
        "Board Games": (35, ("Strategy Game", "Family Game")), "Building Sets": (60, ("Building Set",)),
        "Puzzles": (20, ("1000-Piece Puzzle",)), "Dolls & Action Figures": (25, ("Action Figure", "Doll"))}),
}
# (category, subcategory, catalog share, median list price, nouns, brands)
SUBCATEGORIES = tuple((category, sub, share / len(subs), price, nouns, brands)
                      for category, (share, brands, subs) in CATALOG.items()
                      for sub, (price, nouns) in subs.items())
PRODUCT_EDITIONS = ("", " Pro", " Plus", " Lite", " Max", " Mini", " Classic", " 2")

HOUR_OF_DAY = np.array([0.25, 0.18, 0.14, 0.12, 0.13, 0.20, 0.35, 0.55, 0.80, 1.00, 1.15, 1.25,
                        1.30, 1.25, 1.20, 1.15, 1.10, 1.10, 1.15, 1.25, 1.30, 1.15, 0.80, 0.45])
WEEKDAY = np.array([1.05, 1.08, 1.08, 1.05, 1.00, 0.80, 0.74])  # Monday first
MONTH = np.array([0.82, 0.80, 0.92, 0.95, 0.98, 0.96, 0.93, 0.95, 1.00, 1.05, 1.35, 1.55])
YEARLY_GROWTH = 1.28
QTY_CONSUMER = np.array([0.52, 0.24, 0.09, 0.05, 0.03, 0.025, 0.02, 0.015, 0.005, 0.005])
QTY_BUSINESS = np.array([0.25, 0.20, 0.13, 0.10, 0.08, 0.07, 0.06, 0.05, 0.03, 0.03])
DISCOUNT_PCT = np.array([5, 10, 15, 20, 25, 30])
DISCOUNT_PCT_P = np.array([0.30, 0.25, 0.18, 0.12, 0.08, 0.07])
# sale fates: completes, is cancelled, completes then is refunded, stays pending (abandoned)
FATE_P = np.array([0.885, 0.04, 0.055, 0.02])
SALES_CHUNK = 250_000
TEXT_CHUNK = 100_000

# Bad-row kinds with dirty=True, and the share of their table's rows each one takes.
DIRTY_SALES = {
    "orphan_customer_id": 0.0012, "orphan_product_id": 0.0008, "negative_quantity": 0.0010,
    "discount_gt_total": 0.0008, "future_sale_date": 0.0006, "null_sale_date": 0.0008,
    "null_status": 0.0010, "null_total_amount": 0.0008, "null_discount_amount": 0.0010,
}
DIRTY_CUSTOMERS = {
    "duplicate_email": 0.004, "odd_unicode_name": 0.003, "null_customer_segment": 0.001,
    "null_region": 0.001, "nonstandard_segment": 0.0015, "nonstandard_region": 0.0015,
}
DIRTY_PRODUCTS = {"null_category": 0.01, "nonstandard_category": 0.015}
ODD_SEGMENTS = ("Government", "enterprise", " SMB ", "Consumer ", "Non-Profit", "B2B")
ODD_REGIONS = ("Middle East & Africa", "EMEA", "europe", "N. America", "APAC ", "LATAM")
MEA_PLACES = (("United Arab Emirates", "Dubai"), ("South Africa", "Gauteng"), ("Nigeria", "Lagos"),
              ("Kenya", "Nairobi"), ("Egypt", "Cairo"), ("Saudi Arabia", "Riyadh"))
ODD_CATEGORIES = (" electronics ", "ELECTRONICS", "Home and Garden", "apparel", "Sport & Outdoor", "Misc",
                  "N/A")
# Each odd name carries at least one of: emoji, combining accent, right-to-left text, zero-width
# (non-)joiner/space, double quote, comma, backslash, newline, tab.
ODD_NAME_MAKERS = (  # ordered so that any 5 in a row include a newline, tab, ZWJ or backslash
    lambda f, l: f"{f}\n{l}", lambda f, l: f"{f} {l} 😀", lambda f, l: f"{f}\u0301 {l}",
    lambda f, l: f'{f} "{f[:3]}" {l}', lambda f, l: f"{f}\t{l}", lambda f, l: f"محمد {l}",
    lambda f, l: f"{f} 👩\u200d💻 {l}", lambda f, l: f"{l}, {f}", lambda f, l: f"{f}\\{l}",
    lambda f, l: f"{f} \u05d3\u05d5\u05d3 {l}", lambda f, l: f"{f}\u200b {l}",
    lambda f, l: f"\u200f{f} {l}\u200f", lambda f, l: f"Zoe\u0308 {l} \U0001F1EB\U0001F1F7",
)

PG_EPOCH_S = 946_684_800  # 2000-01-01 in Unix seconds
PG_EPOCH_DAYS = 10_957
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8
COPY_TRAILER = b"\xff\xff"


@dataclass
class GenerateResult:
    customers: int
    products: int
    sales: int
    dirty_rows: dict[str, int]
    seconds: float


@dataclass
class ActivityResult:
    new_sales: int
    status_changes: int
    window_start: datetime
    window_end: datetime


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------

def create_schema(conn_or_dsn) -> None:
    """Create the source tables and indexes if missing (source_schema.sql). A connection is used
    within its current transaction; a DSN gets its own committed connection."""
    ddl = resources.files(__package__).joinpath("source_schema.sql").read_text(encoding="utf-8")
    if isinstance(conn_or_dsn, psycopg.Connection):
        conn_or_dsn.execute(ddl)
        return
    with psycopg.connect(conn_or_dsn) as conn:
        conn.execute(ddl)


def generate(dsn: str, *, customers: int, products: int, sales: int, seed: int, as_of: datetime,
             dirty: bool = False, progress: Progress = None) -> GenerateResult:
    """Replace the three source tables' contents with a deterministic dataset ending at `as_of`.

    The same arguments give byte-identical tables. `dirty_rows` counts the bad rows per kind
    (empty when dirty is False). Everything happens in one transaction."""
    started = time.perf_counter()
    say = progress or (lambda message: None)
    clock = _Clock.of(as_of)
    if customers < 1 or products < 1 or sales < 0 or seed < 0:
        raise ValueError("need customers >= 1, products >= 1, sales >= 0 and seed >= 0")
    calendar = _Calendar.make(seed, clock)
    cust = _make_customers(seed, customers, calendar, dirty)
    prod = _make_products(seed, products, calendar, dirty)
    plan = _SalesPlan.make(seed, sales, calendar, cust, prod, dirty)
    _replace_tables(dsn, cust, prod, plan, say)
    dirty_rows = {**cust.dirty_counts, **prod.dirty_counts, **plan.dirty_counts} if dirty else {}
    return GenerateResult(customers, products, sales, dirty_rows, time.perf_counter() - started)


def apply_activity(dsn: str, *, seed: int, progress: Progress = None, now: datetime | None = None,
                   rate: float = 1.0) -> ActivityResult:
    """Play up to one hour of activity after the newest `updated_at` T, never past `now` (default:
    the wall clock): new sales at the rate of the week before T, status changes on recent sales and
    a few customers moving, all with `updated_at` in (T, min(T + 1h, now)]. Deterministic given the
    seed, the database's contents and the window. `rate` scales the new sales and status changes
    (a benchmark gives a 3x larger table the same hourly change with 1/3)."""
    say = progress or (lambda message: None)
    now = now or datetime.now(timezone.utc)
    with _connect(dsn) as conn:
        state = _DatabaseState.read(conn)
        window = _Window.after(state.newest_update_us, now)
        rng = np.random.default_rng([seed, state.newest_update_us % 2**63, state.max_sale_id, state.sales])
        new = _new_sales(conn, rng, state, window, rate)
        _copy_binary(conn, "sales", _SALES_COLUMNS, iter([new]))
        changes = _status_changes(conn, rng, state, window, rate)
        moves = _customer_moves(conn, rng, window)
        conn.commit()
    say(f"activity {window.start:%Y-%m-%d %H:%M:%S} .. {window.end:%H:%M:%S}: {len(new['sale_id']):,} new sales, "
        f"{changes:,} status changes, {moves} customers moved")
    return ActivityResult(len(new["sale_id"]), changes, window.start, window.end)


def _replace_tables(dsn: str, cust: "_Customers", prod: "_Products", plan: "_SalesPlan",
                    say: Callable[[str], None]) -> None:
    """In one transaction: create the schema if missing, TRUNCATE, drop the secondary indexes of
    sales, COPY (FREEZE) the three tables, recreate the indexes; then ANALYZE."""
    with _connect(dsn) as conn:
        create_schema(conn)
        conn.execute("TRUNCATE customers, products, sales")
        conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
        indexes = _drop_secondary_indexes(conn, "sales")
        _copy_binary(conn, "customers", _CUSTOMER_COLUMNS, _slices(cust.columns, TEXT_CHUNK), freeze=True)
        _copy_binary(conn, "products", _PRODUCT_COLUMNS, _slices(prod.columns, TEXT_CHUNK), freeze=True)
        say(f"customers: {len(cust.signup_day):,} rows, products: {len(prod.launch_day):,} rows")
        _copy_binary(conn, "sales", _SALES_COLUMNS, _sales_batches(plan, say), freeze=True)
        say("sales: recreating indexes")
        for definition in indexes:
            conn.execute(definition)
        conn.commit()
        say("analyzing")
        conn.execute("ANALYZE customers, products, sales")
        conn.commit()


# --------------------------------------------------------------------------------------------
# Time: the dataset's clock and its calendar of sale intensity
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Clock:
    """`as_of` in whole Unix seconds: sales happen before `end_s`, updates at or before `last_s`."""

    end_s: int  # the smallest whole second >= as_of: sale_date < end_s <=> sale_date < as_of
    last_s: int  # the largest whole second <= as_of

    @classmethod
    def of(cls, as_of: datetime) -> "_Clock":
        if as_of.tzinfo is None or as_of.utcoffset() is None:
            raise ValueError("as_of must be timezone-aware (UTC)")
        us = (as_of - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(microseconds=1)
        return cls(end_s=-(-us // 1_000_000), last_s=us // 1_000_000)

    @property
    def last_day(self) -> int:
        return self.last_s // 86_400


@dataclass
class _Calendar:
    """Hourly bins from HISTORY_MONTHS before as_of up to as_of, with each bin's sales intensity."""

    clock: _Clock
    first_day: int  # Unix day of the first sale day
    day_weight: np.ndarray  # per day: growth * month * weekday * holidays * noise
    bin_start: np.ndarray  # per hourly bin: Unix second it starts
    bin_weight: np.ndarray

    @classmethod
    def make(cls, seed: int, clock: _Clock) -> "_Calendar":
        last = date(1970, 1, 1) + timedelta(days=clock.last_day)
        months = last.year * 12 + last.month - 1 - HISTORY_MONTHS
        first = date(months // 12, months % 12 + 1, min(last.day, 28))
        first_day = (first - date(1970, 1, 1)).days
        day_weight = _day_weights(np.random.default_rng([seed, 1]), first_day, clock.last_day)
        bin_start = np.arange(first_day * 86_400, clock.end_s, 3_600, dtype=np.int64)
        length = np.minimum(3_600, clock.end_s - bin_start) / 3_600
        hours = (bin_start // 3_600) % 24
        weight = day_weight[bin_start // 86_400 - first_day] * HOUR_OF_DAY[hours] * length
        return cls(clock, first_day, day_weight, bin_start, weight)

    def month(self, unix_days: np.ndarray) -> np.ndarray:
        return unix_days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12


def _day_weights(rng: np.random.Generator, first_day: int, last_day: int) -> np.ndarray:
    """Relative sales per day: yearly growth, Nov/Dec peak, weekday > weekend, holiday spikes."""
    days = np.arange(first_day, last_day + 1)
    dates = days.astype("datetime64[D]")
    month = dates.astype("datetime64[M]").astype(np.int64) % 12
    day_of_month = (dates - dates.astype("datetime64[M]")).astype(np.int64) + 1
    weekday = (days + 3) % 7
    growth = YEARLY_GROWTH ** ((days - first_day) / 365.25)
    weight = growth * MONTH[month] * WEEKDAY[weekday] * rng.lognormal(0.0, 0.07, len(days))
    black_friday = (month == 10) & (weekday == 4) & (day_of_month >= 23) & (day_of_month <= 29)
    cyber_monday = (month == 10) & (weekday == 0) & (day_of_month >= 26) | (month == 11) & (weekday == 0) & (
        day_of_month <= 2)
    weight[black_friday] *= 2.2
    weight[cyber_monday] *= 1.7
    weight[(month == 11) & (day_of_month == 25)] *= 0.45
    return weight


# --------------------------------------------------------------------------------------------
# Customers
# --------------------------------------------------------------------------------------------

@dataclass
class _Customers:
    """Customers in signup order (customer_id = position + 1), with what the sales need to know."""

    columns: dict[str, np.ndarray]
    signup_day: np.ndarray  # sorted Unix days
    cum_weight: np.ndarray  # cumulative buying weight, in id order
    tax_bp: np.ndarray
    business: np.ndarray  # Enterprise or SMB (buys more units)
    dirty_counts: dict[str, int]


def _make_customers(seed: int, n: int, calendar: _Calendar, dirty: bool) -> _Customers:
    rng = np.random.default_rng([seed, 2])
    signup_day = _signup_days(rng, n, calendar)
    segment = rng.choice(len(SEGMENTS), n, p=SEGMENT_SHARES)
    country, state = _places(rng, n)
    region = np.array([REGIONS.index(g[0]) for g in GEOGRAPHY])[country]
    names, emails = _names_and_emails(rng, segment, region, country)
    updated_s = _customer_updates(rng, signup_day, calendar.clock)
    columns = {
        "customer_id": np.arange(1, n + 1, dtype=np.int64), "customer_name": names, "email": emails,
        "signup_date": signup_day, "customer_segment": np.array(SEGMENTS, dtype=object)[segment],
        "region": np.array(REGIONS, dtype=object)[region],
        "country": np.array([g[1] for g in GEOGRAPHY], dtype=object)[country],
        "state": state, "updated_at": updated_s,
    }
    counts = _spoil_customers(np.random.default_rng([seed, 3]), columns) if dirty else {}
    weight = (rng.pareto(1.5, n) + 1.0).clip(max=100.0) * np.array(SEGMENT_BUYING_POWER)[segment]
    return _Customers(columns, signup_day, np.cumsum(weight), np.array(REGION_TAX_BP)[region],
                      segment < 2, counts)


def _signup_days(rng: np.random.Generator, n: int, calendar: _Calendar) -> np.ndarray:
    """35% signed up in the 4 years before the sales history (at least one), the rest during it,
    following the sales' growth and seasonality; strictly before as_of's day. Sorted."""
    first, last = calendar.first_day, calendar.clock.last_day
    early = max(1, round(0.35 * n))
    before = rng.integers(first - 4 * 365, first, early)
    weights = calendar.day_weight[: last - first]
    during = first + rng.choice(len(weights), n - early, p=weights / weights.sum())
    return np.sort(np.concatenate([before, during]))


def _places(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Country index into GEOGRAPHY and state name, the first states of each country more likely."""
    weight = np.array([g[2] for g in GEOGRAPHY])
    country = rng.choice(len(GEOGRAPHY), n, p=weight / weight.sum())
    state = np.empty(n, dtype=object)
    u = rng.random(n)
    for i, (_, _, _, states) in enumerate(GEOGRAPHY):
        here = country == i
        w = 1.0 / np.sqrt(np.arange(1, len(states) + 1))
        pick = np.searchsorted(np.cumsum(w) / w.sum(), u[here], side="right").clip(max=len(states) - 1)
        state[here] = np.array(states, dtype=object)[pick]
    return country, state


def _ascii_slug(text: str) -> str:
    """Lowercase ASCII letters and digits only: 'Wiśniewski' -> 'wisniewski', "O'Brien" -> 'obrien'."""
    text = text.replace("ß", "ss").replace("ø", "o").replace("ł", "l").replace("Ł", "L")
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return "".join(ch for ch in plain if ch.isalnum())


def _names_and_emails(rng: np.random.Generator, segment: np.ndarray, region: np.ndarray,
                      country: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Person names from the region's pools; Enterprise/SMB customers are companies named after a
    family name, with a contact address at the company's domain; e-mails unique."""
    n = len(segment)
    first, first_slug = _pool_pick(rng, [pools[0] for pools in NAMES], region)
    last, last_slug = _pool_pick(rng, [pools[1] for pools in NAMES], region)
    words, _ = _pool_pick(rng, [COMPANY_WORDS], np.zeros(n, dtype=np.int64))
    suffix, _ = _pool_pick(rng, [COMPANY_SUFFIXES[g[1]] for g in GEOGRAPHY], country)
    company = segment < 2
    names = np.where(company, last + " " + words + " " + suffix, first + " " + last)
    pattern = rng.integers(0, 4, n)
    local = np.select([pattern == 0, pattern == 1, pattern == 2],
                      [first_slug + "." + last_slug, first_slug + last_slug,
                       np.array([s[:1] for s in first_slug], dtype=object) + last_slug],
                      first_slug + "_" + last_slug)
    domain = np.where(company, last_slug + np.array([w.lower() for w in words], dtype=object) + ".com",
                      np.array(MAIL_DOMAINS, dtype=object)[rng.integers(0, len(MAIL_DOMAINS), n)])
    local = np.where(company, first_slug + "." + last_slug, local)
    return names, _unique_emails(local, domain)


def _pool_pick(rng: np.random.Generator, pools, group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, a uniform pick from pools[group]: (the values, their ASCII slugs)."""
    flat = [unicodedata.normalize("NFC", value) for pool in pools for value in pool]
    size = np.array([len(pool) for pool in pools])
    index = (np.cumsum(size) - size)[group] + (rng.random(len(group)) * size[group]).astype(np.int64)
    return (np.array(flat, dtype=object)[index],
            np.array([_ascii_slug(value) for value in flat], dtype=object)[index])


def _unique_emails(local: np.ndarray, domain: np.ndarray) -> np.ndarray:
    """local@domain, numbering repeats (john.smith@, john.smith2@, ...) until all are distinct."""
    emails = local + "@" + domain
    number = np.ones(len(emails), dtype=np.int64)
    while True:
        codes = pd.factorize(emails)[0]
        occurrence = pd.Series(codes).groupby(codes).cumcount().to_numpy()  # 0 for the first one
        repeat = occurrence > 0
        if not repeat.any():
            return emails
        number[repeat] += occurrence[repeat]
        emails[repeat] = local[repeat] + number[repeat].astype(str).astype(object) + "@" + domain[repeat]


def _customer_updates(rng: np.random.Generator, signup_day: np.ndarray, clock: _Clock) -> np.ndarray:
    """updated_at (Unix s): on the signup day, or for 30% a later profile change; <= as_of."""
    n = len(signup_day)
    signed = signup_day * 86_400 + rng.integers(0, 86_400, n)
    later = signed + (rng.random(n) * (clock.last_s - signed)).astype(np.int64)
    return np.minimum(np.where(rng.random(n) < 0.3, later, signed), clock.last_s)


def _spoil_customers(rng: np.random.Generator, columns: dict[str, np.ndarray]) -> dict[str, int]:
    """Turn disjoint sets of customers into each kind of bad row; returns the count per kind."""
    rows = _dirty_rows(rng, len(columns["customer_id"]), DIRTY_CUSTOMERS, spare=True)
    originals = rows.pop("_spare")[: len(rows["duplicate_email"])]
    dup = rows["duplicate_email"][: len(originals)]
    rows["duplicate_email"] = dup
    variants = [_email_variant(e, k) for k, e in enumerate(columns["email"][originals])]
    columns["email"][dup] = np.array(variants, dtype=object)
    columns["customer_name"][dup] = columns["customer_name"][originals]
    odd = rows["odd_unicode_name"]
    makers = _cycle(tuple(range(len(ODD_NAME_MAKERS))), rng, len(odd))
    names = [ODD_NAME_MAKERS[m](*_split_name(name)) for m, name in zip(makers, columns["customer_name"][odd])]
    columns["customer_name"][odd] = np.array(names, dtype=object)
    columns["customer_segment"][rows["null_customer_segment"]] = None
    columns["region"][rows["null_region"]] = None
    bad_segment = rows["nonstandard_segment"]
    columns["customer_segment"][bad_segment] = _cycle(ODD_SEGMENTS, rng, len(bad_segment))
    _spoil_regions(rng, columns, rows["nonstandard_region"])
    return {kind: len(ids) for kind, ids in rows.items()}


def _spoil_regions(rng: np.random.Generator, columns: dict[str, np.ndarray], rows: np.ndarray) -> None:
    """Off-list regions; 'Middle East & Africa' customers get a country and state there."""
    regions = _cycle(ODD_REGIONS, rng, len(rows))
    columns["region"][rows] = regions
    mea = rows[regions == "Middle East & Africa"]
    places = rng.integers(0, len(MEA_PLACES), len(mea))
    columns["country"][mea] = np.array([MEA_PLACES[p][0] for p in places], dtype=object)
    columns["state"][mea] = np.array([MEA_PLACES[p][1] for p in places], dtype=object)


def _email_variant(email: str, k: int) -> str:
    """A duplicate as entered again: the same, capitalized, or with a trailing space."""
    return (email, email.capitalize(), email + " ", email.upper())[k % 4]


def _split_name(name: str) -> tuple[str, str]:
    first, _, last = name.partition(" ")
    return first, last or first


def _cycle(values: tuple, rng: np.random.Generator, n: int) -> np.ndarray:
    """n values going through all of `values` (from a random start) so each kind shows up."""
    start = int(rng.integers(0, len(values)))
    return np.array([values[(start + i) % len(values)] for i in range(n)], dtype=object)


def _dirty_rows(rng: np.random.Generator, n: int, shares: dict[str, float],
                spare: bool = False) -> dict[str, np.ndarray]:
    """Disjoint random row positions per kind: max(1, share * n) each while rows last; with
    spare=True also '_spare' rows (as many as the first kind) untouched by any kind."""
    wanted = {kind: max(1, round(share * n)) for kind, share in shares.items()}
    first = next(iter(wanted.values()))
    total = min(n, sum(wanted.values()) + (first if spare else 0))
    picked = rng.choice(n, total, replace=False) if total else np.empty(0, dtype=np.int64)
    rows, at = {}, 0
    for kind, count in wanted.items():
        rows[kind] = np.sort(picked[at: at + count])
        at += len(rows[kind])
    if spare:
        rows["_spare"] = picked[at:]
    return rows


# --------------------------------------------------------------------------------------------
# Products
# --------------------------------------------------------------------------------------------

@dataclass
class _Products:
    """Products in catalog order (product_id = position + 1) with their internal list prices."""

    columns: dict[str, np.ndarray]
    launch_day: np.ndarray  # sorted Unix days
    cum_weight: np.ndarray  # cumulative popularity (Zipf), in id order
    price_cents: np.ndarray
    dirty_counts: dict[str, int]


def _make_products(seed: int, n: int, calendar: _Calendar, dirty: bool) -> _Products:
    rng = np.random.default_rng([seed, 4])
    shares = np.array([sub[2] for sub in SUBCATEGORIES])
    kind = rng.choice(len(SUBCATEGORIES), n, p=shares / shares.sum())
    stocked = min(n, len(SUBCATEGORIES))
    kind[:stocked] = rng.permutation(len(SUBCATEGORIES))[:stocked]  # every subcategory, when n allows
    names = _product_names(rng, [SUBCATEGORIES[k] for k in kind])
    median = np.array([SUBCATEGORIES[k][3] for k in kind], dtype=float)
    price_cents = np.maximum(199, np.round(median * rng.lognormal(0.0, 0.45, n)) * 100 - 1).astype(np.int64)
    launch_day = _launch_days(rng, n, calendar)
    updated_s = launch_day * 86_400 + rng.integers(0, 86_400, n)
    columns = {
        "product_id": np.arange(1, n + 1, dtype=np.int64), "product_name": names,
        "category": np.array([SUBCATEGORIES[k][0] for k in kind], dtype=object),
        "subcategory": np.array([SUBCATEGORIES[k][1] for k in kind], dtype=object), "updated_at": updated_s,
    }
    counts = _spoil_products(np.random.default_rng([seed, 5]), columns) if dirty else {}
    popularity = 1.0 / rng.permutation(np.arange(1, n + 1)) ** 0.75
    return _Products(columns, launch_day, np.cumsum(popularity), price_cents, counts)


def _product_names(rng: np.random.Generator, kinds: list[tuple]) -> np.ndarray:
    """'{brand} {noun}{edition} {model}', e.g. 'Voltra Wireless Headphones Pro X214'."""
    u = rng.random((len(kinds), 3))
    model = rng.integers(100, 1000, len(kinds))
    letters = "ABCEGKMRSTVX"
    names = []
    for (_, _, _, _, nouns, brands), (a, b, c), m in zip(kinds, u, model):
        edition = PRODUCT_EDITIONS[int(c * len(PRODUCT_EDITIONS))]
        names.append(f"{brands[int(a * len(brands))]} {nouns[int(b * len(nouns))]}{edition} "
                     f"{letters[m % len(letters)]}{m}")
    return np.array(names, dtype=object)


def _launch_days(rng: np.random.Generator, n: int, calendar: _Calendar) -> np.ndarray:
    """80% (at least one) launched in the 3 years before the history, the rest during it. Sorted."""
    first, last = calendar.first_day, calendar.clock.last_day
    early = max(1, round(0.8 * n))
    return np.sort(np.concatenate([rng.integers(first - 3 * 365, first, early),
                                   rng.integers(first, last, n - early)]))


def _spoil_products(rng: np.random.Generator, columns: dict[str, np.ndarray]) -> dict[str, int]:
    rows = _dirty_rows(rng, len(columns["product_id"]), DIRTY_PRODUCTS)
    columns["category"][rows["null_category"]] = None
    bad = rows["nonstandard_category"]
    columns["category"][bad] = _cycle(ODD_CATEGORIES, rng, len(bad))
    return {kind: len(ids) for kind, ids in rows.items()}


# --------------------------------------------------------------------------------------------
# Sales
# --------------------------------------------------------------------------------------------

@dataclass
class _SalesPlan:
    """What every chunk of sales needs: hourly counts, customers, products, the dirty rows."""

    seed: int
    calendar: _Calendar
    customers: _Customers
    products: _Products
    bin_count: np.ndarray
    bin_first_id: np.ndarray  # sale_id - 1 of each bin's first sale
    chunk_bins: np.ndarray  # bin index where each chunk starts (and the last one's end)
    dirty_ids: np.ndarray  # sorted sale_ids of bad rows
    dirty_kind: np.ndarray  # index into DIRTY_SALES, aligned with dirty_ids
    dirty_counts: dict[str, int]

    @classmethod
    def make(cls, seed: int, n: int, calendar: _Calendar, customers: _Customers, products: _Products,
             dirty: bool) -> "_SalesPlan":
        rng = np.random.default_rng([seed, 6])
        count = rng.multinomial(n, calendar.bin_weight / calendar.bin_weight.sum())
        first_id = np.concatenate([[0], np.cumsum(count)[:-1]])
        cuts = np.searchsorted(first_id, np.arange(SALES_CHUNK, n, SALES_CHUNK))
        chunk_bins = np.unique(np.concatenate([[0], cuts, [len(count)]]))
        rows = _dirty_rows(np.random.default_rng([seed, 7]), n, DIRTY_SALES) if dirty and n else {}
        ids = np.concatenate([r + 1 for r in rows.values()] or [np.empty(0, dtype=np.int64)])
        kind = np.concatenate([np.full(len(r), i) for i, r in enumerate(rows.values())] or [np.empty(0)])
        order = np.argsort(ids)
        counts = {kind_name: len(r) for kind_name, r in rows.items()}
        return cls(seed, calendar, customers, products, count, first_id, chunk_bins, ids[order],
                   kind[order].astype(np.int64), counts)


def _sales_batches(plan: _SalesPlan, say: Callable[[str], None]) -> Iterator[dict[str, np.ndarray]]:
    total = int(plan.bin_count.sum())
    chunks = len(plan.chunk_bins) - 1
    for chunk, (lo, hi) in enumerate(zip(plan.chunk_bins[:-1], plan.chunk_bins[1:])):
        batch = _sales_chunk(plan, chunk, lo, hi)
        yield batch
        if len(batch["sale_id"]) and (chunk % 4 == 3 or chunk == chunks - 1):
            say(f"sales: {int(batch['sale_id'][-1]):,}/{total:,}")


def _sales_chunk(plan: _SalesPlan, chunk: int, lo: int, hi: int) -> dict[str, np.ndarray]:
    """The sales of hourly bins [lo, hi), from the chunk's own random stream."""
    rng = np.random.default_rng([plan.seed, 8, chunk])
    clock, cust, prod = plan.calendar.clock, plan.customers, plan.products
    count = plan.bin_count[lo:hi]
    start = np.repeat(plan.calendar.bin_start[lo:hi], count)
    length = np.minimum(3_600, clock.end_s - start)
    sale_s = np.sort(start + (rng.random(len(start)) * length).astype(np.int64))
    day = sale_s // 86_400
    customer = _pick_prefix(rng, cust.cum_weight, np.searchsorted(cust.signup_day, day, side="left"))
    product = _pick_prefix(rng, prod.cum_weight, np.searchsorted(prod.launch_day, day, side="left"))
    sale_id = plan.bin_first_id[lo] + 1 + np.arange(len(sale_s), dtype=np.int64)
    holiday = plan.calendar.month(day) >= 10
    unit = _unit_prices(rng, prod.price_cents[product])
    batch = _priced_sales(rng, sale_id, customer + 1, product + 1, sale_s, unit, cust.business[customer],
                          cust.tax_bp[customer], holiday)
    batch.update(_lifecycle(rng, sale_s, clock.last_s))
    _spoil_sales(rng, plan, batch)
    return batch


def _pick_prefix(rng: np.random.Generator, cum_weight: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """Per row, a weighted pick among positions [0, eligible) (eligible >= 1)."""
    eligible = np.maximum(eligible, 1)
    u = rng.random(len(eligible)) * cum_weight[eligible - 1]
    return np.minimum(np.searchsorted(cum_weight, u, side="right"), eligible - 1)


def _unit_prices(rng: np.random.Generator, list_cents: np.ndarray) -> np.ndarray:
    """The list price, 20% of the time +-5% (promotions, price changes)."""
    n = len(list_cents)
    varied = np.round(list_cents * rng.uniform(0.95, 1.05, n)).astype(np.int64)
    return np.maximum(np.where(rng.random(n) < 0.2, varied, list_cents), 1)


def _priced_sales(rng: np.random.Generator, sale_id, customer_id, product_id, sale_s, unit,
                  business, tax_bp, holiday) -> dict[str, np.ndarray]:
    """Quantity, total, discount and tax (in cents) of sales at the given unit prices."""
    quantity = _quantities(rng, business)
    total = quantity * unit
    discount = _discounts(rng, total, business, holiday)
    return {"sale_id": sale_id, "customer_id": customer_id, "product_id": product_id, "sale_date": sale_s,
            "quantity": quantity, "unit_price": unit, "total_amount": total, "discount_amount": discount,
            "tax_amount": _tax(total - discount, tax_bp), "tax_bp": tax_bp}


def _quantities(rng: np.random.Generator, business: np.ndarray) -> np.ndarray:
    """1-10, mostly 1-2; businesses buy more."""
    n = len(business)
    consumer = rng.choice(10, n, p=QTY_CONSUMER / QTY_CONSUMER.sum())
    company = rng.choice(10, n, p=QTY_BUSINESS / QTY_BUSINESS.sum())
    return np.where(business, company, consumer).astype(np.int64) + 1


def _discounts(rng: np.random.Generator, total: np.ndarray, business: np.ndarray,
               holiday: np.ndarray) -> np.ndarray:
    """Mostly 0; otherwise 5-30% of the total (more often for businesses and in Nov/Dec)."""
    n = len(total)
    chance = 0.12 + 0.10 * business + 0.10 * holiday
    pct = rng.choice(DISCOUNT_PCT, n, p=DISCOUNT_PCT_P)
    return np.where(rng.random(n) < chance, (total * pct + 50) // 100, 0)


def _tax(net_cents: np.ndarray, tax_bp: np.ndarray) -> np.ndarray:
    """net * rate rounded half away from zero to the cent."""
    return np.sign(net_cents) * ((np.abs(net_cents) * tax_bp + 5_000) // 10_000)


def _lifecycle(rng: np.random.Generator, sale_s: np.ndarray, last_s: int) -> dict[str, np.ndarray]:
    """Status and updated_at as of `last_s`: a sale is PENDING when placed, COMPLETED minutes
    later, possibly REFUNDED days after, or CANCELLED hours after; some stay PENDING forever."""
    n = len(sale_s)
    fate = rng.choice(4, n, p=FATE_P)
    created = np.minimum(sale_s + rng.integers(0, 120, n), last_s)
    completed = sale_s + _lognormal_s(rng, n, 15 * 60, 1.0, 60, 3 * 86_400)
    cancelled = sale_s + _lognormal_s(rng, n, 6 * 3_600, 1.2, 300, 14 * 86_400)
    refunded = completed + _lognormal_s(rng, n, 9 * 86_400, 0.7, 86_400, 60 * 86_400)
    status = np.full(n, PENDING, dtype=np.int64)
    updated = created.copy()
    for mask, new_status, when in (
            (((fate == 0) | (fate == 2)) & (completed <= last_s), COMPLETED, completed),
            ((fate == 2) & (refunded <= last_s), REFUNDED, refunded),
            ((fate == 1) & (cancelled <= last_s), CANCELLED, cancelled)):
        status[mask] = new_status
        updated[mask] = when[mask]
    return {"status": status, "updated_at": updated}


def _lognormal_s(rng: np.random.Generator, n: int, median_s: float, sigma: float, lo: int,
                 hi: int) -> np.ndarray:
    """n whole-second durations, lognormal around `median_s`, clipped to [lo, hi]."""
    return np.clip(rng.lognormal(math.log(median_s), sigma, n), lo, hi).astype(np.int64)


def _spoil_sales(rng: np.random.Generator, plan: _SalesPlan, batch: dict[str, np.ndarray]) -> None:
    """Apply this chunk's bad rows (one kind per row) and set the NULL masks."""
    ids = batch["sale_id"]
    if not len(ids) or not len(plan.dirty_ids):
        return
    lo, hi = np.searchsorted(plan.dirty_ids, [ids[0], ids[-1] + 1])
    kind = np.full(len(ids), -1)
    kind[plan.dirty_ids[lo:hi] - ids[0]] = plan.dirty_kind[lo:hi]
    is_ = {name: kind == i for i, name in enumerate(DIRTY_SALES)}
    n = len(ids)
    n_customers, n_products = len(plan.customers.signup_day), len(plan.products.launch_day)
    batch["customer_id"] = np.where(is_["orphan_customer_id"], n_customers + rng.integers(1, 1_000, n),
                                    batch["customer_id"])
    batch["product_id"] = np.where(is_["orphan_product_id"], n_products + rng.integers(1, 500, n),
                                   batch["product_id"])
    negative = is_["negative_quantity"]
    batch["quantity"] = np.where(negative, -batch["quantity"], batch["quantity"])
    batch["total_amount"] = batch["quantity"] * batch["unit_price"]
    over = batch["total_amount"] + rng.integers(100, 5_000, n)
    batch["discount_amount"] = np.select([negative, is_["discount_gt_total"]], [0, over],
                                         batch["discount_amount"])
    batch["tax_amount"] = _tax(batch["total_amount"] - batch["discount_amount"], batch["tax_bp"])
    future = plan.calendar.clock.last_s + rng.integers(3_600, 400 * 86_400, n)
    batch["sale_date"] = np.where(is_["future_sale_date"], future, batch["sale_date"])
    batch["null"] = {"sale_date": is_["null_sale_date"], "status": is_["null_status"],
                     "total_amount": is_["null_total_amount"], "discount_amount": is_["null_discount_amount"]}


# --------------------------------------------------------------------------------------------
# apply_activity
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _DatabaseState:
    newest_update_us: int  # max(updated_at) over the three tables, Unix microseconds
    max_sale_id: int
    sales: int

    @classmethod
    def read(cls, conn: psycopg.Connection) -> "_DatabaseState":
        newest, max_id, count = conn.execute(
            "SELECT (extract(epoch FROM greatest((SELECT max(updated_at) FROM customers),"
            " (SELECT max(updated_at) FROM products), (SELECT max(updated_at) FROM sales))) * 1e6)::bigint,"
            " (SELECT coalesce(max(sale_id), 0) FROM sales), (SELECT count(*) FROM sales)").fetchone()
        if newest is None:
            raise ValueError("the database has no rows: run generate first")
        return cls(newest, max_id, count)


@dataclass(frozen=True)
class _Window:
    """(start, end] = (T, min(T + 1h, now)]; whole seconds first_s..last_s lie inside it."""

    start: datetime
    end: datetime
    first_s: int
    last_s: int

    @classmethod
    def after(cls, newest_us: int, now: datetime) -> "_Window":
        epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
        now_us = (now - epoch) // timedelta(microseconds=1)
        if now_us < newest_us + 2_000_000:
            raise ValueError(f"the source's newest change ({epoch + timedelta(microseconds=newest_us):%Y-%m-%d %H:%M:%S}"
                             " UTC) is not before now: no activity to add yet")
        end_us = min(newest_us + 3_600_000_000, now_us)
        return cls(epoch + timedelta(microseconds=newest_us), epoch + timedelta(microseconds=end_us),
                   newest_us // 1_000_000 + 1, end_us // 1_000_000)

    def seconds(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Sale times: whole seconds strictly before the window's end, which becomes the logical
        time (windows are half-open, so a sale at the end itself would count as in the future)."""
        before_end = self.last_s + 1 if self.end.microsecond else self.last_s
        return np.sort(rng.integers(self.first_s, before_end, n))


def _recent_buyers(conn: psycopg.Connection, limit: int) -> dict[str, np.ndarray]:
    """(customer, product, unit price, segment, region) of the latest clean sales, oldest first:
    new sales resample them, which keeps the customers' and products' popularity."""
    rows = conn.execute(
        "SELECT s.customer_id, s.product_id, (s.unit_price * 100)::bigint, c.customer_segment, c.region"
        " FROM (SELECT * FROM sales ORDER BY sale_id DESC LIMIT %s) s"
        " JOIN customers c USING (customer_id) JOIN products p USING (product_id)"
        " WHERE s.quantity > 0 AND s.unit_price > 0 AND s.status IS NOT NULL AND s.sale_date IS NOT NULL"
        " ORDER BY s.sale_id", (limit,)).fetchall()
    if not rows:
        raise ValueError("no clean recent sales to base new activity on")
    customer, product, unit, segment, region = zip(*rows)
    tax = {name: bp for name, bp in zip(REGIONS, REGION_TAX_BP)}
    return {"customer_id": np.array(customer, dtype=np.int64),
            "product_id": np.array(product, dtype=np.int64),
            "unit_price": np.array(unit, dtype=np.int64),
            "business": np.isin(np.array(segment, dtype=object), ["Enterprise", "SMB"]),
            "tax_bp": np.array([tax.get(r, UNKNOWN_TAX_BP) for r in region], dtype=np.int64)}


def _new_sales(conn: psycopg.Connection, rng: np.random.Generator, state: _DatabaseState,
               window: _Window, rate: float = 1.0) -> dict[str, np.ndarray]:
    """As many sales as the week before the window had in as long (at least one), placed in the
    window; most COMPLETED minutes later (when that is still inside the window), the others PENDING."""
    week = conn.execute("SELECT count(*) FROM sales WHERE sale_date >= %(t)s::timestamptz - interval '7 days'"
                        " AND sale_date < %(t)s", {"t": window.start}).fetchone()[0]
    hours = (window.end - window.start) / timedelta(hours=1)
    n = max(1, int(rng.poisson(week / (7 * 24) * hours * rate)))
    source = _recent_buyers(conn, max(5_000, 2 * n))
    pick = rng.integers(0, len(source["customer_id"]), n)
    sale_s = window.seconds(rng, n)
    holiday = np.full(n, window.start.month >= 11)
    sale_id = state.max_sale_id + 1 + np.arange(n, dtype=np.int64)
    batch = _priced_sales(rng, sale_id, source["customer_id"][pick], source["product_id"][pick], sale_s,
                          source["unit_price"][pick], source["business"][pick], source["tax_bp"][pick],
                          holiday)
    completed = sale_s + _lognormal_s(rng, n, 5 * 60, 0.8, 30, 1_800)
    done = (rng.random(n) < 0.9) & (completed <= window.last_s)
    created = np.minimum(sale_s + rng.integers(0, 60, n), window.last_s)
    batch["status"] = np.where(done, COMPLETED, PENDING)
    batch["updated_at"] = np.where(done, completed, created)
    return batch


def _status_changes(conn: psycopg.Connection, rng: np.random.Generator, state: _DatabaseState,
                    window: _Window, rate: float = 1.0) -> int:
    """Resolve recent PENDING sales (85% COMPLETED, 15% CANCELLED) and refund some recently
    COMPLETED ones: about one sale in 2,500 of the table changes, in one UPDATE ... FROM."""
    rows = conn.execute(
        "SELECT sale_id, status FROM sales WHERE updated_at > %(t)s::timestamptz - interval '21 days'"
        " AND status IN ('PENDING', 'COMPLETED') AND sale_date <= %(t)s AND sale_id <= %(max_id)s"
        " ORDER BY sale_id", {"t": window.start, "max_id": state.max_sale_id}).fetchall()
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    pending = np.array([r[1] == "PENDING" for r in rows], dtype=bool)
    target = max(10, int(state.sales * rate) // 2_500)
    resolve = _sample(rng, ids[pending], min(int(pending.sum()), round(0.6 * target)))
    refund = _sample(rng, ids[~pending], target - len(resolve))
    status = np.concatenate([np.where(rng.random(len(resolve)) < 0.85, COMPLETED, CANCELLED),
                             np.full(len(refund), REFUNDED)])
    changed = {"sale_id": np.concatenate([resolve, refund]), "status": status,
               "updated_at": rng.integers(window.first_s, window.last_s + 1, len(status))}
    conn.execute("CREATE TEMP TABLE activity_status (sale_id bigint, updated_at timestamptz, status text)"
                 " ON COMMIT DROP")
    _copy_binary(conn, "activity_status", ("sale_id", "updated_at", "status"), iter([changed]))
    conn.execute("UPDATE sales s SET status = a.status, updated_at = a.updated_at"
                 " FROM activity_status a WHERE s.sale_id = a.sale_id")
    return len(status)


def _customer_moves(conn: psycopg.Connection, rng: np.random.Generator, window: _Window) -> int:
    """A handful (3-10) of customers move to another country (and state, and maybe region)."""
    ids = np.array([r[0] for r in conn.execute(
        "SELECT customer_id FROM customers WHERE region = ANY(%s) ORDER BY customer_id DESC LIMIT 20000",
        (list(REGIONS),)).fetchall()], dtype=np.int64)
    moved = _sample(rng, np.sort(ids), int(rng.integers(3, 11)))
    country, state = _places(rng, len(moved))
    changed = {"customer_id": moved, "region": np.array([GEOGRAPHY[c][0] for c in country], dtype=object),
               "country": np.array([GEOGRAPHY[c][1] for c in country], dtype=object), "state": state,
               "updated_at": rng.integers(window.first_s, window.last_s + 1, len(moved))}
    conn.execute("CREATE TEMP TABLE activity_moves (customer_id bigint, region text, country text,"
                 " state text, updated_at timestamptz) ON COMMIT DROP")
    _copy_binary(conn, "activity_moves", tuple(changed), iter([changed]))
    conn.execute("UPDATE customers c SET region = m.region, country = m.country, state = m.state,"
                 " updated_at = m.updated_at FROM activity_moves m WHERE c.customer_id = m.customer_id")
    return len(moved)


def _sample(rng: np.random.Generator, values: np.ndarray, n: int) -> np.ndarray:
    n = max(0, min(n, len(values)))
    return np.sort(rng.choice(values, n, replace=False)) if n else np.empty(0, dtype=np.int64)


# --------------------------------------------------------------------------------------------
# PostgreSQL: connection, indexes, binary COPY
# --------------------------------------------------------------------------------------------

def _connect(dsn: str) -> psycopg.Connection:
    conn = psycopg.connect(dsn)
    conn.execute("SET TIME ZONE 'UTC'")
    return conn


def _drop_secondary_indexes(conn: psycopg.Connection, table: str) -> list[str]:
    """Drop `table`'s plain indexes (not the primary key or constraints'); returns their CREATE
    statements, to run after loading: building an index once beats updating it per row."""
    rows = conn.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i"
        " WHERE i.indrelid = %s::regclass AND NOT EXISTS"
        " (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY 1", (table,)).fetchall()
    for name, _ in rows:
        conn.execute(f"DROP INDEX {name}")
    return [definition for _, definition in rows]


_CUSTOMER_COLUMNS = ("customer_id", "customer_name", "email", "signup_date", "customer_segment", "region",
                     "country", "state", "updated_at")
_PRODUCT_COLUMNS = ("product_id", "product_name", "category", "subcategory", "updated_at")
_SALES_COLUMNS = ("sale_id", "customer_id", "product_id", "sale_date", "quantity", "unit_price",
                  "total_amount", "discount_amount", "tax_amount", "status", "updated_at")
# How each column is encoded (binary COPY); text when not listed.
_ENCODERS = {
    "sale_id": "int8", "customer_id": "int8", "product_id": "int8", "quantity": "int4",
    "sale_date": "timestamptz", "updated_at": "timestamptz", "signup_date": "date",
    "unit_price": "numeric", "total_amount": "numeric", "discount_amount": "numeric", "tax_amount": "numeric",
}


def _slices(columns: dict[str, np.ndarray], size: int) -> Iterator[dict[str, np.ndarray]]:
    n = len(next(iter(columns.values())))
    for lo in range(0, n, size):
        yield {name: values[lo: lo + size] for name, values in columns.items()}


def _copy_binary(conn: psycopg.Connection, table: str, columns: tuple[str, ...],
                 batches: Iterator[dict[str, np.ndarray]], freeze: bool = False) -> None:
    """COPY batches of column arrays into `table` in PostgreSQL's binary format, sent by a worker
    thread while the next batch is made. FREEZE (only after a TRUNCATE in the same transaction)
    writes the rows already frozen and all-visible: no hint-bit rewrite or vacuum later."""
    options = "FORMAT binary, FREEZE" if freeze else "FORMAT binary"
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN ({options})"
    with conn.cursor() as cur, cur.copy(statement, writer=psycopg.copy.QueuedLibpqWriter(cur)) as copy:
        copy.write(COPY_HEADER)
        for batch in batches:
            copy.write(memoryview(_binary_rows(batch, columns)))
        copy.write(COPY_TRAILER)


def _binary_rows(batch: dict[str, np.ndarray], columns: tuple[str, ...]) -> np.ndarray:
    """Rows in COPY binary format: a padded (rows x max row width) byte matrix, then a mask that
    keeps each field's real bytes (NULLs and short texts take less), flattened in row order."""
    nulls = batch.get("null", {})
    fields = [_encode(batch[name], _ENCODERS.get(name, "text"), nulls.get(name)) for name in columns]
    n = len(batch[columns[0]])
    width = 2 + sum(4 + data.shape[1] for data, _ in fields)
    matrix = np.empty((n, width), dtype=np.uint8)
    matrix[:, :2] = np.frombuffer(len(columns).to_bytes(2, "big"), dtype=np.uint8)
    keep = None
    at = 2
    for data, length in fields:
        w = data.shape[1]
        matrix[:, at: at + 4] = length.astype(">i4").view(np.uint8).reshape(n, 4)
        matrix[:, at + 4: at + 4 + w] = data
        if (length != w).any():
            keep = np.ones((n, width), dtype=bool) if keep is None else keep
            keep[:, at + 4: at + 4 + w] = np.arange(w) < length[:, None]
        at += 4 + w
    return matrix.reshape(-1) if keep is None else matrix[keep]


def _encode(values: np.ndarray, kind: str, null: Optional[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(bytes matrix n x width, byte length per row with -1 for NULL) of one column."""
    if kind == "text":
        data, length = _text_bytes(values, null)
    elif kind == "numeric":
        data = _numeric_bytes(np.asarray(values, dtype=np.int64))
        length = np.full(len(values), data.shape[1], dtype=np.int64)
    else:
        raw = np.asarray(values, dtype=np.int64)
        raw = {"timestamptz": (raw - PG_EPOCH_S) * 1_000_000, "date": raw - PG_EPOCH_DAYS}.get(kind, raw)
        size = 4 if kind in ("int4", "date") else 8
        data = raw.astype(f">i{size}").view(np.uint8).reshape(len(raw), size)
        length = np.full(len(raw), size, dtype=np.int64)
    if null is not None:
        length = np.where(null, -1, length)
    return data, length


def _text_bytes(values: np.ndarray, null: Optional[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """UTF-8 texts; None is NULL. Status codes (integers) become their STATUSES names."""
    values = np.asarray(values)
    if values.dtype.kind in "iu":
        encoded = np.array([s.encode() for s in STATUSES])[values]
        none = np.zeros(len(values), dtype=bool)
    else:
        none = np.array([v is None for v in values], dtype=bool)
        encoded = np.array([b"" if v is None else v.encode("utf-8") for v in values], dtype=bytes)
    encoded = encoded.astype(f"S{max(1, encoded.dtype.itemsize)}")
    length = np.char.str_len(encoded).astype(np.int64)
    length[none] = -1
    if null is not None:
        length[null] = -1
    return encoded.view(np.uint8).reshape(len(values), encoded.dtype.itemsize), length


def _numeric_bytes(cents: np.ndarray) -> np.ndarray:
    """numeric(…, 2) from integer cents: base-10000 digits, enough for the largest value; the
    server strips the leading zero digits."""
    whole, frac = np.divmod(np.abs(cents), 100)
    groups = max(1, math.ceil(len(str(int(whole.max(initial=0)))) / 4))
    words = np.empty((len(cents), 4 + groups + 1), dtype=">i2")
    words[:, 0] = groups + 1  # ndigits
    words[:, 1] = groups - 1  # weight
    words[:, 2] = np.where(cents < 0, 0x4000, 0)  # sign
    words[:, 3] = 2  # dscale
    for g in range(groups):
        words[:, 4 + g] = (whole // 10_000 ** (groups - 1 - g)) % 10_000
    words[:, 4 + groups] = frac * 100
    return words.view(np.uint8).reshape(len(cents), words.shape[1] * 2)
