"""Choosing the supplier of a line: destination-specific first, then priority."""

import uuid

from supplier_gateway.domain.routing import Candidate, choose, ranked

A, B, C, D = (uuid.UUID(int=i) for i in range(1, 5))


def test_destination_specific_mapping_wins_over_general_ones() -> None:
    cands = [Candidate(A, 1, None), Candidate(B, 5, "DE"), Candidate(C, 2, None)]
    assert [c.supplier_id for c in ranked(cands, "DE")] == [B, A, C]
    assert [c.supplier_id for c in ranked(cands, "FR")] == [A, C]
    assert [c.supplier_id for c in ranked(cands, None)] == [A, C]


def test_inactive_suppliers_are_never_chosen() -> None:
    cands = [Candidate(A, 1, None, active=False), Candidate(B, 2, None)]
    assert choose(cands, "US") == Candidate(B, 2, None)


def test_next_backup_after_a_rejection_then_none() -> None:
    cands = [Candidate(A, 1, None), Candidate(B, 2, None), Candidate(C, 3, "US")]
    assert choose(cands, "US").supplier_id == C
    assert choose(cands, "US", tried=[C]).supplier_id == A
    assert choose(cands, "US", tried=[C, A]).supplier_id == B
    assert choose(cands, "US", tried=[A, B, C]) is None


def test_ties_are_broken_deterministically() -> None:
    cands = [Candidate(D, 1, None), Candidate(A, 1, None)]
    assert [c.supplier_id for c in ranked(cands, None)] == [A, D]
