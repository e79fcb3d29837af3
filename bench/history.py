"""How fast the history page's queries are at 100,000 tasks on PostgreSQL.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/foxweb_bench .venv/bin/python bench/history.py [--tasks N]

It creates (or refills) the named database, loads N tasks spread over 60 people in 12 teams
with answers drawn from a vocabulary, then times the queries the history page runs, for a
person who sees many tasks and one who sees few, with and without a search, and prints the
plan PostgreSQL chose for each. Nothing here runs in the test suite.
"""

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "foxweb.settings")

WORDS = [
    "harbour",
    "boat",
    "kite",
    "beach",
    "lemon",
    "bowl",
    "mug",
    "table",
    "window",
    "street",
    "tree",
    "river",
    "bridge",
    "market",
    "shop",
    "shelf",
    "bottle",
    "label",
    "screen",
    "button",
    "dialog",
    "chart",
    "invoice",
    "receipt",
    "poster",
    "flyer",
    "logo",
    "banner",
    "portrait",
    "meadow",
    "mountain",
    "cloud",
    "sky",
    "sunset",
    "crowd",
    "stage",
    "chair",
    "sofa",
    "lamp",
    "plant",
    "garden",
    "fence",
    "gate",
    "road",
    "car",
    "bicycle",
]
RARE = "zebracorn"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=100_000)
    args = parser.parse_args()
    if "postgres" not in os.environ.get("DATABASE_URL", ""):
        sys.exit(
            "Set DATABASE_URL to a scratch PostgreSQL database, e.g. postgres://postgres@127.0.0.1:5432/foxweb_bench"
        )

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    _create_database(os.environ["DATABASE_URL"])
    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model

    from vision.models import Membership, Task, Team

    if Task.objects.count() != args.tasks:
        print(f"Loading {args.tasks} tasks...", flush=True)
        _load(args.tasks)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    User = get_user_model()
    busy = User.objects.get(username="person0")  # in two big teams
    lonely = User.objects.get(username="loner")  # no team, five tasks of their own
    assert Membership.objects.filter(user=busy).count() == 2 and Team.objects.count() == 12

    print(f"\n{Task.objects.count()} tasks. Median of 7 runs; 'plan' is PostgreSQL's top nodes.\n")
    print(f"{'query':58} {'ms':>8}  plan")
    for label, user, search in (
        ("list, person in two teams", busy, ""),
        ("list, person with 5 tasks and no team", lonely, ""),
        ("search a common word, person in two teams", busy, "harbour"),
        ("search two words, person in two teams", busy, "harbour boat"),
        (f"search a rare word ({RARE}), person in two teams", busy, RARE),
        ("search a word nobody used, person in two teams", busy, "nonexistentword"),
        ("search a common word, person with 5 tasks", lonely, "harbour"),
    ):
        queryset = Task.objects.visible_to(user)
        if search:
            queryset = queryset.search(search)
        queryset = queryset.order_by("-id")[:51]
        timings = []
        for _ in range(7):
            start = time.perf_counter()
            list(queryset.values_list("id", flat=True))
            timings.append((time.perf_counter() - start) * 1000)
        plan = queryset.explain()
        nodes = [line.strip(" ->") for line in plan.splitlines() if "Scan" in line or "Join" in line]
        print(f"{label:58} {statistics.median(timings):8.1f}  {' | '.join(node.split('  (')[0] for node in nodes[:4])}")


def _create_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


def _load(count: int) -> None:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from vision.models import Membership, Task, Team

    Task.objects.all().delete()
    Membership.objects.all().delete()
    Team.objects.all().delete()
    User = get_user_model()
    User.objects.filter(username__startswith="person").delete()
    User.objects.filter(username="loner").delete()
    rng = random.Random(1)
    people = User.objects.bulk_create(User(username=f"person{n}") for n in range(60))
    loner = User.objects.create(username="loner")
    teams = Team.objects.bulk_create(Team(name=f"Team {n}") for n in range(12))
    Membership.objects.bulk_create(
        Membership(team=teams[n % 12], user=person, role="owner" if n < 12 else "member")
        for n, person in enumerate(people)
    )
    Membership.objects.create(team=teams[1], user=people[0])
    now = timezone.now()
    batch = []
    for n in range(count - 5):
        owner = people[rng.randrange(60)]
        answer = " ".join(rng.choice(WORDS) for _ in range(rng.randint(30, 120)))
        if n % 20_000 == 7:
            answer += f" {RARE}"
        batch.append(
            Task(
                owner=owner,
                team=teams[rng.randrange(12)] if rng.random() < 0.6 else None,
                model="claude-opus-4-7",
                prompt="Describe this image in detail.",
                answer=answer,
                status="completed",
                created=now,
            )
        )
        if len(batch) == 5000:
            Task.objects.bulk_create(batch)
            batch = []
    batch += [
        Task(owner=loner, model="gpt-5.5", prompt="Alt text", answer="A harbour at dusk.", created=now)
        for _ in range(5)
    ]
    Task.objects.bulk_create(batch)


if __name__ == "__main__":
    main()
