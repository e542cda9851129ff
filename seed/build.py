"""Build the demo data set deterministically: same input files, same rows, every run.

Layer 1 is real: every POI of ``osm_helsinki_pois.ndjson`` becomes a merchant with one store.
Layer 2 is clearly synthetic: generic Chinese dishes and services (no real brands) scattered
around the real centres of Shanghai, Beijing and Shenzhen. Deals and reviews of both layers
are generated and flagged as demo data. Randomness is seeded per merchant key, so adding a
merchant never changes another one. Deals booked by time get a weekly slot schedule in their
stores' zone; its slots are generated for the coming days when the seed is loaded and kept
rolling by the gateway's sweeper. A few Helsinki cafes (``MEMBER_CAFES``) run a membership
program and one published coupon each, from a random stream of their own (``<key>:coupon``),
so they never shift the rest of the demo data.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from domain.slots import WeeklyRule
from seed.rows import (
    CategorySeed,
    CouponSeed,
    DealSeed,
    MerchantSeed,
    ProgramSeed,
    ReviewSeed,
    StoreSeed,
)
from seed.sources import LANGUAGES, category_catalogue, city, read_ndjson

DEMO_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
DEMO_UNTIL = datetime(2028, 12, 31, 23, 59, tzinfo=UTC)
SYNTHETIC_CITIES = ("Shanghai", "Beijing", "Shenzhen")
SYNTHETIC_PER_CITY = 120

# Generic Chinese shop types: (name, English name, category slug, price band in CNY).
SYNTHETIC_KINDS: tuple[tuple[str, str, str, int], ...] = (
    ("川味火锅", "Sichuan Hotpot", "restaurant", 120),
    ("老北京烤鸭", "Old Beijing Roast Duck", "restaurant", 160),
    ("兰州拉面", "Lanzhou Hand-pulled Noodles", "fast_food", 30),
    ("小笼包子铺", "Soup Dumpling House", "fast_food", 35),
    ("粤式早茶", "Cantonese Dim Sum", "restaurant", 90),
    ("湘菜馆", "Hunan Kitchen", "restaurant", 80),
    ("麻辣烫", "Malatang Spicy Pot", "fast_food", 28),
    ("手工奶茶", "Handmade Milk Tea", "cafe", 20),
    ("精品咖啡", "Specialty Coffee", "cafe", 32),
    ("烘焙坊", "Bakery", "bakery", 25),
    ("甜品站", "Dessert Station", "dessert", 30),
    ("KTV量贩", "Karaoke Rooms", "ktv", 150),
    ("足浴养生馆", "Foot Massage & Spa", "spa", 180),
    ("美发沙龙", "Hair Salon", "hair_salon", 100),
    ("美甲美睫", "Nails & Lashes", "beauty_salon", 120),
    ("健身工作室", "Fitness Studio", "gym", 80),
    ("电影院", "Cinema", "cinema", 45),
    ("精酿酒吧", "Craft Beer Bar", "bar", 70),
)
SYNTHETIC_PREFIXES = (
    "老街",
    "巷口",
    "阿婆",
    "金牌",
    "张记",
    "李记",
    "王记",
    "陈记",
    "一品",
    "鸿运",
)
SYNTHETIC_HOURS = (
    "Mo-Su 10:00-22:00",
    "Mo-Su 11:00-14:00,17:00-02:00",
    "Mo-Fr 07:30-20:00; Sa,Su 09:00-20:00",
    "Mo-Th 11:00-23:00; Fr-Sa 11:00-03:00; Su 11:00-23:00",
    "Mo-Su 18:00-04:00; PH off",
    "24/7",
)
DEAL_TITLES = {
    "en": ("Set menu for two", "Voucher worth {value}", "Weekday lunch deal", "Happy hour"),
    "zh": ("双人套餐", "{value}代金券", "工作日午市特惠", "欢乐时光"),
}
REVIEW_TEXTS = {
    "en": ("Great value, would come again.", "Friendly staff.", "A bit crowded.", "Excellent!"),
    "zh": ("性价比很高，还会再来。", "服务热情。", "人有点多。", "非常好！"),
}
# Helsinki cafes (OSM ids) with a membership program and a published coupon, all within a
# kilometre of the centre (60.168, 24.94): Théhuone, Roasberg, Cafe Ekberg.
MEMBER_CAFES = ("node/1007416273", "node/1376356022", "node/151006533")
COUPON_OFFERS: tuple[tuple[str, str, str], ...] = (  # (title, kind, value)
    ("10 % off your bill", "PERCENT_OFF", "10"),
    ("15 % off the whole bill", "PERCENT_OFF", "15"),
    ("3 EUR off a bill of 15 EUR or more", "AMOUNT_OFF", "3.00"),
    ("A free cinnamon bun with any coffee", "FREE_ITEM", "Cinnamon bun"),
)
PROGRAM_TIERS = (("Regular", 0), ("Silver", 100), ("Gold", 300))
REVIEW_AUTHORS = ("Aino K.", "Mikko L.", "Sofia V.", "Li Wei", "王芳", "张伟", "Emma S.", "陈静")


def build_categories() -> list[CategorySeed]:
    return [
        CategorySeed(slug=slug, names=names, terms=terms, position=index)
        for index, (slug, (names, terms)) in enumerate(sorted(category_catalogue().items()))
    ]


def build_merchants() -> list[MerchantSeed]:
    known = {category.slug for category in build_categories()}
    merchants = [helsinki_merchant(row) for row in read_ndjson("osm_helsinki_pois.ndjson")]
    for name in SYNTHETIC_CITIES:
        merchants.extend(synthetic_city(city(name)))
    unknown = {m.category_slug for m in merchants} - known
    if unknown:
        raise ValueError(f"seed merchants use unknown categories: {sorted(unknown)}")
    return merchants


def helsinki_merchant(poi: dict[str, Any]) -> MerchantSeed:
    key = f"osm:{poi['osm_id']}"
    rng = random.Random(key)
    names = {lang: poi["names"][lang] for lang in LANGUAGES if poi["names"].get(lang)}
    store = StoreSeed(
        external_key=f"{key}:store",
        name=poi["name"],
        address=_address(poi),
        lat=poi["lat"],
        lng=poi["lon"],
        timezone="Europe/Helsinki",
        country_code="FI",
        opening_hours=poi.get("opening_hours"),
    )
    member_cafe = poi["osm_id"] in MEMBER_CAFES
    return MerchantSeed(
        external_key=key,
        name=poi["name"],
        names=names,
        category_slug=poi["category"],
        price_level=rng.randint(1, 4),
        source="osm",
        stores=(store,),
        deals=_deals(rng, key, (store.external_key,), "EUR", "en", base=rng.choice((12, 25, 40))),
        reviews=_reviews(rng, key, "en"),
        program=_program(key) if member_cafe else None,
        coupons=(_coupon(key, (store.external_key,)),) if member_cafe else (),
    )


def _program(key: str) -> ProgramSeed:
    rng = random.Random(f"{key}:program")
    return ProgramSeed(
        auto_join=rng.random() < 0.5,
        points_per_unit=Decimal(rng.choice((1, 2, 5))),
        tiers=PROGRAM_TIERS,
    )


def _coupon(key: str, store_keys: tuple[str, ...]) -> CouponSeed:
    """One published coupon for everyone, unlimited, one per customer, EUR."""
    rng = random.Random(f"{key}:coupon")
    title, kind, value = rng.choice(COUPON_OFFERS)
    return CouponSeed(
        external_key=f"{key}:coupon:0",
        title=title,
        kind=kind,
        percent_off=Decimal(value) if kind == "PERCENT_OFF" else None,
        amount_off=Decimal(value) if kind == "AMOUNT_OFF" else None,
        free_item=value if kind == "FREE_ITEM" else None,
        currency="EUR",
        min_bill=Decimal("15.00") if kind == "AMOUNT_OFF" else None,
        valid_from=DEMO_EPOCH,
        valid_until=DEMO_UNTIL,
        per_user_limit=1,
        store_keys=store_keys,
    )


def synthetic_city(centre: dict[str, Any]) -> list[MerchantSeed]:
    return [synthetic_merchant(centre, index) for index in range(SYNTHETIC_PER_CITY)]


def synthetic_merchant(centre: dict[str, Any], index: int) -> MerchantSeed:
    key = f"demo:{centre['name'].lower()}:{index:04d}"
    rng = random.Random(key)
    kind, kind_en, category, band = rng.choice(SYNTHETIC_KINDS)
    prefix = rng.choice(SYNTHETIC_PREFIXES)
    name = f"{prefix}{kind}"
    store_count = 1 if rng.random() < 0.85 else rng.randint(2, 3)
    stores = tuple(
        _synthetic_store(rng, centre, f"{key}:store:{n}", name, n) for n in range(store_count)
    )
    store_keys = tuple(store.external_key for store in stores)
    return MerchantSeed(
        external_key=key,
        name=name,
        names={"zh": name, "en": f"{kind_en} (demo)"},
        category_slug=category,
        price_level=min(4, 1 + band // 50),
        source="synthetic",
        stores=stores,
        deals=_deals(rng, key, store_keys, "CNY", "zh", base=band),
        reviews=_reviews(rng, key, "zh"),
    )


def _synthetic_store(
    rng: random.Random, centre: dict[str, Any], key: str, name: str, n: int
) -> StoreSeed:
    # Gaussian scatter (sigma 3 km) around the real city centre, clipped to 15 km.
    north_m = max(-15_000.0, min(15_000.0, rng.gauss(0, 3000)))
    east_m = max(-15_000.0, min(15_000.0, rng.gauss(0, 3000)))
    lat = centre["lat"] + north_m / 111_320
    lng = centre["lon"] + east_m / (111_320 * math.cos(math.radians(centre["lat"])))
    branch = "" if n == 0 else f"（{n + 1}号店）"
    return StoreSeed(
        external_key=key,
        name=f"{name}{branch}",
        address=f"{centre['names'].get('zh', centre['name'])} (synthetic demo address)",
        lat=round(lat, 7),
        lng=round(lng, 7),
        timezone="Asia/Shanghai",
        country_code="CN",
        opening_hours=rng.choice(SYNTHETIC_HOURS),
    )


def _deals(
    rng: random.Random, key: str, store_keys: tuple[str, ...], currency: str, lang: str, base: int
) -> tuple[DealSeed, ...]:
    deals = []
    for n in range(rng.randint(1, 3)):
        price = Decimal(rng.randint(base * 50, base * 150)) / 100
        price = price.quantize(Decimal("1.00"))
        discount = rng.choice((0, 10, 20, 25, 30, 40, 50))
        original = (price * 100 / (100 - discount)).quantize(Decimal("1.00")) if discount else None
        limited = rng.random() < 0.3
        total = rng.randint(20, 60) if limited else (None if rng.random() < 0.5 else 500)
        remaining = (
            rng.randint(3, 20) if limited else (None if total is None else rng.randint(100, 500))
        )
        starts = DEMO_EPOCH + timedelta(days=rng.randint(0, 60))
        title = rng.choice(DEAL_TITLES[lang]).format(value=f"{(price * 2):.0f} {currency}")
        valid_at = store_keys if len(store_keys) == 1 or rng.random() < 0.7 else store_keys[:1]
        per_user_limit = rng.choice((1, 1, 2, 4))
        by_slot = rng.random() < 0.2
        deal_key = f"{key}:deal:{n}"
        deals.append(
            DealSeed(
                external_key=deal_key,
                title=title,
                description=f"{title} (demo offer, generated)",
                price=price,
                original_price=original,
                currency=currency,
                valid_from=starts,
                valid_until=DEMO_UNTIL,
                total_quantity=total,
                remaining_quantity=remaining,
                per_user_limit=per_user_limit,
                requires_booking=by_slot,
                store_keys=valid_at,
                weekly=weekly_schedule(deal_key) if by_slot else (),
            )
        )
    return tuple(deals)


def weekly_schedule(deal_key: str) -> tuple[WeeklyRule, ...]:
    """Every day, a slot every hour (or 90 minutes) from late morning to evening, a few
    places each. Its own random stream, so the schedule never shifts the other demo data."""
    rng = random.Random(f"{deal_key}:slots")
    start = rng.choice((10, 11, 12)) * 60
    end = rng.choice((18, 20, 21)) * 60
    every = rng.choice((60, 60, 90))
    capacity = rng.randint(4, 10)
    return tuple(WeeklyRule(day, start, end, every, capacity) for day in range(1, 8))


def _reviews(rng: random.Random, key: str, lang: str) -> tuple[ReviewSeed, ...]:
    weights = (1, 2, 5, 10, 8)
    return tuple(
        ReviewSeed(
            external_key=f"{key}:review:{n}",
            author_name=rng.choice(REVIEW_AUTHORS),
            rating=rng.choices(range(1, 6), weights=weights)[0],
            text=rng.choice(REVIEW_TEXTS[lang]),
            created_at=DEMO_EPOCH + timedelta(minutes=rng.randint(0, 60 * 24 * 300)),
        )
        for n in range(rng.randint(0, 6))
    )


def _address(poi: dict[str, Any]) -> str | None:
    street = " ".join(p for p in (poi.get("addr_street"), poi.get("addr_housenumber")) if p)
    place = " ".join(p for p in (poi.get("addr_postcode"), poi.get("addr_city")) if p)
    return ", ".join(p for p in (street, place) if p) or None
