"""``grant-service report``: the programme's figures, from the database."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grant_service import budget
from grant_service.models import Application, MyKey, PointTotal


@dataclass(frozen=True)
class Figures:
    cap: int
    issued: int
    people_by_status: dict[str, int]
    applications: dict[str, dict[str, int]]  # service -> status -> count
    people_with_points: int
    counted_yen: int
    points: int


def figures(session: Session, cap: int) -> Figures:
    applications: dict[str, dict[str, int]] = {}
    for service, status, count in session.execute(
        select(Application.service_code, Application.status, func.count()).group_by(
            Application.service_code, Application.status
        )
    ):
        applications.setdefault(service, {})[status] = count
    people, counted, points = session.execute(
        select(func.count(), func.coalesce(func.sum(PointTotal.counted_yen), 0),
               func.coalesce(func.sum(PointTotal.points), 0)).where(PointTotal.points > 0)
    ).one()  # fmt: skip
    return Figures(
        cap=cap,
        issued=budget.issued(session),
        people_by_status={
            status: count
            for status, count in session.execute(
                select(MyKey.status, func.count()).group_by(MyKey.status)
            )
        },
        applications=applications,
        people_with_points=people,
        counted_yen=counted,
        points=points,
    )


def lines(f: Figures) -> list[str]:
    used = 100 * f.issued / f.cap if f.cap else 100.0
    out = [
        f"Reservations (MyKey IDs issued): {f.issued:,} of a cap of {f.cap:,} ({used:.2f}% used)",
        "  by status: "
        + (", ".join(f"{k} {v:,}" for k, v in sorted(f.people_by_status.items())) or "none"),
        "Applications per service (active / cancelled / superseded):",
    ]
    for service in sorted(f.applications):
        counts = f.applications[service]
        out.append(
            f"  {service:<26} {counts.get('active', 0):>8,} / {counts.get('cancelled', 0):>6,}"
            f" / {counts.get('superseded', 0):>4,}"
        )
    if not f.applications:
        out.append("  none")
    out.append(
        f"Points granted: {f.points:,} yen to {f.people_with_points:,} "
        f"{'person' if f.people_with_points == 1 else 'people'} "
        f"(on {f.counted_yen:,} yen of charges or purchases)"
    )
    return out
