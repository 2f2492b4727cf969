"""Missed webhook deliveries Steward asked GitHub to send again: one row per delivery, so never twice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from jobs.db import Base


class RedeliveryRow(Base):
    __tablename__ = "redeliveries"

    guid: Mapped[str] = mapped_column(String(64), primary_key=True)
    """The delivery's X-GitHub-Delivery, the same for every attempt of it."""
    delivery_id: Mapped[int] = mapped_column(BigInteger)
    """GitHub's id of the failed attempt that was redelivered."""
    event: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(64), default="")
    status_code: Mapped[int] = mapped_column(Integer, default=0)
    """What Steward's receiver answered (0: no answer)."""
    delivered_at: Mapped[str] = mapped_column(String(40), default="")
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    outcome: Mapped[str] = mapped_column(String(255), default="requesting")
    """requesting (written before the request), requested, or why GitHub refused."""
