"""How many tasks and tokens each key (and each team's keys) paid for: per day and this month."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from vision.models import Task

DAYS = 30


@dataclass
class Usage:
    """One key's or one team's usage: per-day series for the chart, and month-to-date totals."""

    days: list[date]
    tasks: list[int] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)
    month_tasks: int = 0
    month_tokens: int = 0

    @property
    def total_tasks(self) -> int:
        return sum(self.tasks)

    @property
    def total_tokens(self) -> int:
        return sum(self.tokens)

    def bars(self, width: int = 300, height: int = 60) -> list[dict]:
        """Bar geometry for the server-rendered SVG chart of tokens per day."""
        peak = max(self.tokens, default=0) or 1
        step = width / len(self.days)
        bars = []
        for index, (day, tasks, tokens) in enumerate(zip(self.days, self.tasks, self.tokens, strict=True)):
            bar_height = round(height * tokens / peak, 1) if tokens else 0
            bars.append(
                {
                    "x": round(index * step + 1, 1),
                    "y": round(height - bar_height, 1),
                    "width": round(step - 2, 1),
                    "height": bar_height,
                    "label": f"{day:%d %b}: {tasks} task{'s' if tasks != 1 else ''}, {tokens} tokens",
                }
            )
        return bars


def last_days() -> list[date]:
    today = timezone.localdate()
    return [today - timedelta(days=offset) for offset in range(DAYS - 1, -1, -1)]


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def usage_by_key(key_ids: list[int]) -> dict[int, Usage]:
    """Usage of each key over the last 30 days, in two queries whatever the number of keys."""
    days = last_days()
    result = {key_id: Usage(days, [0] * DAYS, [0] * DAYS) for key_id in key_ids}
    if not key_ids:
        return result
    index = {day: position for position, day in enumerate(days)}
    start = _midnight(days[0])
    rows = (
        Task.objects.filter(api_key_id__in=key_ids, created__gte=start)
        .annotate(day=TruncDate("created"))
        .values("api_key_id", "day")
        .annotate(tasks=Count("id"), tokens=Sum("total_tokens"))
    )
    for row in rows:
        position = index.get(row["day"])
        if position is not None:
            usage = result[row["api_key_id"]]
            usage.tasks[position] += row["tasks"]
            usage.tokens[position] += row["tokens"] or 0
    month_start = _midnight(days[-1].replace(day=1))
    month = (
        Task.objects.filter(api_key_id__in=key_ids, created__gte=month_start)
        .values("api_key_id")
        .annotate(tasks=Count("id"), tokens=Sum("total_tokens"))
    )
    for row in month:
        result[row["api_key_id"]].month_tasks = row["tasks"]
        result[row["api_key_id"]].month_tokens = row["tokens"] or 0
    return result


def combine(usages: list[Usage], days: list[date]) -> Usage:
    """The sum of several keys' usage, e.g. all of one team's keys."""
    total = Usage(days, [0] * len(days), [0] * len(days))
    for usage in usages:
        total.tasks = [a + b for a, b in zip(total.tasks, usage.tasks, strict=True)]
        total.tokens = [a + b for a, b in zip(total.tokens, usage.tokens, strict=True)]
        total.month_tasks += usage.month_tasks
        total.month_tokens += usage.month_tokens
    return total


def combine_by_team(keys_by_team: dict, per_key: dict[int, Usage]) -> dict:
    """Each team's usage: the sum over its keys."""
    days = last_days()
    return {team: combine([per_key[key_id] for key_id in key_ids], days) for team, key_ids in keys_by_team.items()}
