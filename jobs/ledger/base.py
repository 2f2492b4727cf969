"""What every part of the Ledger shares: the session factory and the run lookup."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from jobs.ledger.states import RunNotFound
from jobs.models.runs import RunRow


class LedgerBase:
    """Holds the sessions; the mixins add one concern each."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], engine: AsyncEngine | None = None):
        self._sessions = sessionmaker
        self._engine = engine

    async def close(self) -> None:
        """Dispose the engine this ledger opened (no-op when the caller owns it)."""
        if self._engine is not None:
            await self._engine.dispose()

    @staticmethod
    async def _row(session: AsyncSession, run_id: str) -> RunRow:
        row = await session.get(RunRow, run_id)
        if row is None:
            raise RunNotFound(run_id)
        return row
