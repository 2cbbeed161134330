"""docs/events/ is the generator's (`make contracts`): the catalogue, the envelope's and
each event's JSON Schema; every field of every contract is described."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from dropship_cli.event_catalogue import README, consumers_by_event, files, render
from dropship_cli.services import SPECS
from dropship_common.contracts import all_events, contract_modules, publisher_of
from dropship_common.messaging.envelope import Envelope

EVENTS = Path(__file__).resolve().parents[2] / "docs" / "events"


def test_docs_events_hold_exactly_what_the_generator_writes() -> None:
    generated = files()
    on_disk = {p.name: p.read_text() for p in EVENTS.iterdir() if p.is_file()}
    assert sorted(on_disk) == sorted(generated), "run `make contracts` and commit docs/events"
    for name, text in generated.items():
        assert on_disk[name] == text, f"docs/events/{name} is stale: run `make contracts`"


def _models(model: type[BaseModel]) -> list[type[BaseModel]]:
    found = [model]
    for info in model.model_fields.values():
        stack = [info.annotation]
        while stack:
            annotation = stack.pop()
            stack.extend(getattr(annotation, "__args__", ()))
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                found += _models(annotation)
    return found


def test_every_field_of_every_contract_and_of_the_envelope_is_described() -> None:
    models = {m for event in all_events() for m in _models(event)} | {Envelope}
    missing = [
        f"{model.__name__}.{name}"
        for model in models
        for name, info in model.model_fields.items()
        if not (info.description or "").strip()
    ]
    assert missing == []


def test_each_event_lists_its_publisher_and_the_services_whose_registries_consume_it() -> None:
    consumers = consumers_by_event()
    registered = {
        (r.model.TYPE, r.model.VERSION, spec.name)
        for spec in SPECS.values()
        if spec.handlers is not None
        for r in spec.handlers.registrations
    }
    assert {
        (t, v, name.split(" ")[0]) for (t, v), names in consumers.items() for name in names
    } == (registered)
    catalogue = render()
    for event in all_events():
        assert publisher_of(event) in {str(m.PUBLISHER) for m in contract_modules()}
        row = next(
            line for line in catalogue.splitlines() if line.startswith(f"| [`{event.TYPE}`]")
        )
        assert f"| {publisher_of(event)} |" in row
        for name in consumers.get((event.TYPE, event.VERSION), []):
            assert name in row
    assert "## Published by logistics" in catalogue  # its (empty) section
    assert README in files()
