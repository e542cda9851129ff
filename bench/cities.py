"""The real city centres the synthetic data set clusters around, shared by generate and run.

Both sides derive everything from ``seed/data/cities.ndjson`` and fixed seeds, so the query
points of ``bench.run`` fall where ``bench.generate`` put the stores.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from seed.sources import read_ndjson

DEFAULT_CITIES = 60
KM_PER_DEG_LAT = 110.574
KM_PER_DEG_LNG_EQUATOR = 111.320

# Roughly plausible ISO 4217 codes for the countries of the most populous cities.
CURRENCIES = {
    "AU": "AUD", "BD": "BDT", "BR": "BRL", "CD": "CDF", "CI": "XOF", "CN": "CNY", "CO": "COP",
    "EG": "EGP", "GB": "GBP", "HK": "HKD", "ID": "IDR", "IN": "INR", "IQ": "IQD", "IR": "IRR",
    "JP": "JPY", "KR": "KRW", "MX": "MXN", "NG": "NGN", "PE": "PEN", "PK": "PKR", "RU": "RUB",
    "SG": "SGD", "TH": "THB", "TR": "TRY", "TW": "TWD", "TZ": "TZS", "US": "USD", "VN": "VND",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class City:
    index: int
    name: str
    lat: float
    lng: float
    population: int
    timezone: str
    country_code: str
    currency: str
    sigma_km: float
    merchants: int  # how many of the generated merchants belong to this city


def top_cities(count: int = DEFAULT_CITIES, merchants: int = 0) -> list[City]:
    """The ``count`` most populous cities; merchants split by population (largest remainder).

    Stores scatter around the centre with a gaussian of ``sigma_km`` = 3 km plus up to 3 km
    more for the largest city (so big cities are denser, but not absurdly so).
    """
    rows = sorted(read_ndjson("cities.ndjson"), key=lambda r: (-r["population"], r["name"]))
    rows = rows[:count]
    total = sum(r["population"] for r in rows)
    largest = rows[0]["population"]
    shares = [merchants * r["population"] / total for r in rows]
    counts = [math.floor(s) for s in shares]
    by_remainder = sorted(range(len(rows)), key=lambda i: (counts[i] - shares[i], i))
    for i in by_remainder[: merchants - sum(counts)]:
        counts[i] += 1
    return [
        City(
            index=i,
            name=r["name"],
            lat=float(r["lat"]),
            lng=float(r["lon"]),
            population=int(r["population"]),
            timezone=r["timezone"],
            country_code=r["country"],
            currency=CURRENCIES.get(r["country"], "USD"),
            sigma_km=3.0 + 3.0 * math.sqrt(r["population"] / largest),
            merchants=counts[i],
        )
        for i, r in enumerate(rows)
    ]


def offset(lat: float, lng: float, east_km: float, north_km: float) -> tuple[float, float]:
    """The point ``east_km`` east and ``north_km`` north of (lat, lng) (flat-earth approx)."""
    km_per_deg_lng = KM_PER_DEG_LNG_EQUATOR * math.cos(math.radians(lat))
    return lat + north_km / KM_PER_DEG_LAT, lng + east_km / km_per_deg_lng


def query_points(
    count: int, cities: int = DEFAULT_CITIES, seed: int = 42
) -> list[tuple[float, float]]:
    """Deterministic (lat, lng) points near the centres: city by population, then gaussian.

    The scatter is half the city's store sigma, so a 2 km radius always holds many stores.
    """
    rng = random.Random(seed)
    centres = top_cities(cities)
    weights = [c.population for c in centres]
    points = []
    for _ in range(count):
        city = rng.choices(centres, weights)[0]
        east, north = rng.gauss(0, city.sigma_km / 2), rng.gauss(0, city.sigma_km / 2)
        lat, lng = offset(city.lat, city.lng, east, north)
        points.append((round(lat, 6), round(lng, 6)))
    return points
