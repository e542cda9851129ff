"""The benchmark generator on a small scale: consistent rows, and a bulk load that leaves no
search outbox rows for its merchants, stores and deals (per-row triggers are off for it)."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from bench.generate import main as generate
from tests.conftest import TEST_DATABASE_URL, recreate_database

MERCHANTS = 300
DEALS_PER_MERCHANT = 2
REVIEWS = 900


@pytest.fixture(scope="module")
def bench_url() -> str:
    parts = urlsplit(TEST_DATABASE_URL)
    url = urlunsplit(parts._replace(path=f"{parts.path}_bench_gen"))
    recreate_database(url)
    arguments = ["--database-url", url, "--merchants", str(MERCHANTS)]
    arguments += ["--deals-per-merchant", str(DEALS_PER_MERCHANT), "--reviews", str(REVIEWS)]
    assert generate(arguments) == 0
    return url


def one(url: str, statement: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(statement).fetchone()
    assert row is not None
    return int(row[0])


def test_the_generator_makes_the_asked_rows(bench_url: str) -> None:
    assert one(bench_url, "SELECT count(*) FROM merchants WHERE source = 'bench'") == MERCHANTS
    assert one(bench_url, "SELECT count(*) FROM deals") == MERCHANTS * DEALS_PER_MERCHANT
    assert one(bench_url, "SELECT count(*) FROM reviews") == REVIEWS
    assert one(bench_url, "SELECT count(*) FROM stores") >= MERCHANTS


def test_every_deal_is_offered_at_each_store_of_its_merchant(bench_url: str) -> None:
    expected = "SELECT count(*) FROM deals d JOIN stores s ON s.merchant_id = d.merchant_id"
    assert one(bench_url, "SELECT count(*) FROM deal_stores") == one(bench_url, expected)
    orphans = (
        "SELECT count(*) FROM deal_stores ds JOIN deals d ON d.id = ds.deal_id"
        " JOIN stores s ON s.id = ds.store_id WHERE s.merchant_id <> d.merchant_id"
    )
    assert one(bench_url, orphans) == 0


def test_merchant_aggregates_match_their_reviews(bench_url: str) -> None:
    mismatched = (
        "SELECT count(*) FROM merchants m LEFT JOIN (SELECT merchant_id, count(*) AS n,"
        " sum(rating) AS total FROM reviews GROUP BY merchant_id) r ON r.merchant_id = m.id"
        " WHERE m.review_count <> coalesce(r.n, 0) OR m.rating_total <> coalesce(r.total, 0)"
    )
    assert one(bench_url, mismatched) == 0


def test_the_bulk_load_writes_no_search_outbox_rows(bench_url: str) -> None:
    # the categories are upserted as usual, triggers on: only they are waiting to be indexed
    waiting = "SELECT count(*) FROM search_outbox WHERE entity <> 'category'"
    assert one(bench_url, waiting) == 0


def test_a_second_run_keeps_the_rows(bench_url: str) -> None:
    arguments = ["--database-url", bench_url, "--merchants", str(MERCHANTS)]
    assert generate(arguments) == 0
    assert one(bench_url, "SELECT count(*) FROM merchants") == MERCHANTS
