"""Shopify's calculated query cost, as "Cost calculation" documents it
(https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits#cost-calculation:
scalar and enum 0, object 1, interface and union the maximum of the possible
selections, connection "sized by first and last arguments", mutation 10), computed on
the parsed document (graphql-core), without Shopify's schema:

* a scalar or enum field (no selection set) costs 0;
* an object field costs 1 plus its selection;
* a connection (a field selecting ``edges``, ``nodes`` or ``pageInfo``) costs 2 plus,
  per object its ``first`` / ``last`` asks for, the node's cost, so nested connections
  multiply: Shopify's own formula ("two points plus the number of returned objects",
  https://shopify.engineering/rate-limiting-graphql-apis-calculating-query-complexity),
  an upper bound of what Shopify charges today (some connections cost less). A
  connection without ``first`` or ``last`` is an error, as at Shopify;
* a list of objects sized by ``first`` / ``last`` (``Order.fulfillments``,
  ``Fulfillment.trackingInfo``) costs that many times the object;
* a mutation field costs 10 plus its payload's selection;
* type-conditioned fragments (interfaces, unions) cost the maximum of the possible
  selections; fragment spreads and inline fragments are followed, ``first`` / ``last``
  read from variables (or their defaults).

The requested cost is computed before the query runs; the fake computes the actual cost
from what it returns (:mod:`dropship_testkit.fakes.shopify_admin`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    parse,
)
from graphql.utilities import value_from_ast_untyped

MAX_QUERY_COST = 1000  # https://shopify.dev/docs/api/usage/limits: single query limit
MUTATION_COST = 10
CONNECTION_COST = 2
CONNECTION_PARTS = frozenset({"edges", "nodes", "pageInfo"})


class QueryError(Exception):
    """The document cannot run (Shopify answers it with ``errors``, no data)."""


@dataclass(frozen=True)
class Operation:
    kind: Literal["query", "mutation"]
    node: OperationDefinitionNode
    fragments: Mapping[str, FragmentDefinitionNode]
    variables: Mapping[str, Any]

    @property
    def root_fields(self) -> list[FieldNode]:
        return all_fields(self.node.selection_set, self)

    def argument(self, field: FieldNode, name: str) -> Any:
        for arg in field.arguments or ():
            if arg.name.value == name:
                return value_from_ast_untyped(arg.value, dict(self.variables))
        return None


def parse_operation(
    query: str, variables: Mapping[str, Any] | None, operation_name: str | None = None
) -> Operation:
    try:
        document = parse(query)
    except Exception as exc:  # graphql-core's GraphQLSyntaxError
        raise QueryError(str(exc).split("\n", 1)[0]) from exc
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    if operation_name:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if len(operations) != 1:
        raise QueryError(
            "An operation name is required" if operations else "No operation named in the query"
        )
    node = operations[0]
    if node.operation not in (OperationType.QUERY, OperationType.MUTATION):
        raise QueryError("Subscriptions are not supported")
    given = dict(variables or {})
    for definition in node.variable_definitions or ():
        name = definition.variable.name.value
        if name not in given and definition.default_value is not None:
            given[name] = value_from_ast_untyped(definition.default_value, {})
    kind: Literal["query", "mutation"] = (
        "mutation" if node.operation == OperationType.MUTATION else "query"
    )
    return Operation(kind, node, fragments, given)


def _groups(
    selection_set: SelectionSetNode | None, op: Operation
) -> tuple[list[FieldNode], dict[str, list[FieldNode]]]:
    """Fields always selected, and fields per fragment type condition."""
    base: list[FieldNode] = []
    typed: dict[str, list[FieldNode]] = {}

    def walk(sel: SelectionSetNode | None, condition: str | None) -> None:
        for s in sel.selections if sel is not None else ():
            if isinstance(s, FieldNode):
                (typed.setdefault(condition, []) if condition else base).append(s)
            elif isinstance(s, InlineFragmentNode):
                typed_as = s.type_condition.name.value if s.type_condition else condition
                walk(s.selection_set, typed_as)
            elif isinstance(s, FragmentSpreadNode):
                fragment = op.fragments.get(s.name.value)
                if fragment is None:
                    raise QueryError(f"Fragment {s.name.value} was used, but not defined")
                walk(fragment.selection_set, fragment.type_condition.name.value)

    walk(selection_set, None)
    return base, typed


def all_fields(selection_set: SelectionSetNode | None, op: Operation) -> list[FieldNode]:
    base, typed = _groups(selection_set, op)
    return base + [f for fields in typed.values() for f in fields]


def response_key(field: FieldNode) -> str:
    return field.alias.value if field.alias else field.name.value


def is_connection(field: FieldNode, op: Operation) -> bool:
    if field.selection_set is None:
        return False
    return any(f.name.value in CONNECTION_PARTS for f in all_fields(field.selection_set, op))


def page_size(field: FieldNode, op: Operation) -> int | None:
    first, last = op.argument(field, "first"), op.argument(field, "last")
    if first is not None and last is not None:
        raise QueryError(f"{field.name.value}: pass either first or last, not both")
    size = first if first is not None else last
    if size is None:
        return None
    if not isinstance(size, int) or size < 0:
        raise QueryError(f"{field.name.value}: first/last must be a non-negative Int")
    return size


def selection_cost(selection_set: SelectionSetNode | None, op: Operation) -> int:
    base, typed = _groups(selection_set, op)
    always = sum(field_cost(f, op) for f in base)
    return always + max((sum(field_cost(f, op) for f in g) for g in typed.values()), default=0)


def node_cost(connection: FieldNode, op: Operation) -> int:
    """One object of a connection, through ``nodes`` or ``edges { node }``."""
    costs = [0]
    for part in all_fields(connection.selection_set, op):
        if part.name.value == "nodes":
            costs.append(1 + selection_cost(part.selection_set, op))
        elif part.name.value == "edges":
            for edge in all_fields(part.selection_set, op):
                if edge.name.value == "node":
                    costs.append(1 + selection_cost(edge.selection_set, op))
    return max(costs)


def field_cost(field: FieldNode, op: Operation) -> int:
    if field.selection_set is None:
        return 0  # scalar, enum
    size = page_size(field, op)
    if is_connection(field, op):
        if size is None:
            raise QueryError(
                f"you must provide one of first or last for the {field.name.value} connection"
            )
        return CONNECTION_COST + size * node_cost(field, op)
    each = 1 + selection_cost(field.selection_set, op)
    return each * (size if size is not None else 1)


def requested_cost(op: Operation) -> int:
    if op.kind == "mutation":
        return sum(MUTATION_COST + selection_cost(f.selection_set, op) for f in op.root_fields)
    return sum(field_cost(f, op) for f in op.root_fields)


def query_cost(query: str, variables: Mapping[str, Any] | None = None) -> int:
    """The requested cost of ``query`` (tests: every query we send stays under 1,000)."""
    return requested_cost(parse_operation(query, variables))
