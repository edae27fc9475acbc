"""No import cycle among scalinglab's modules, function-level imports included.

The graph is grimp's (the one `lint-imports` checks the layers on), with imports under
`if TYPE_CHECKING:` left out as the layers contract leaves them out: they never run. A cycle
is a strongly connected component of two or more modules (or a module importing itself).
"""

from __future__ import annotations

import grimp
import pytest


def _components(graph: grimp.ImportGraph) -> list[list[str]]:
    """The graph's strongly connected components that hold a cycle (Tarjan, iterative)."""
    succ = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(succ):
        if root in index:
            continue
        work = [(root, iter(succ[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            child = next(edges, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(succ[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    comp.append(m)
                    if m == node:
                        break
                if len(comp) > 1 or node in succ[node]:
                    found.append(sorted(comp))
    return sorted(found)


def _describe(graph: grimp.ImportGraph, comp: list[str]) -> str:
    """One cycle through the component, each import with its line: a -> b (line) -> ... -> a."""
    first = comp[0]
    nxt = next(m for m in sorted(graph.find_modules_directly_imported_by(first)) if m in comp)
    back = graph.find_shortest_chain(importer=nxt, imported=first) or (nxt, first)
    chain = [first, *back]
    steps = []
    for a, b in zip(chain, chain[1:], strict=False):
        details = graph.get_import_details(importer=a, imported=b)
        where = ", ".join(f"line {d['line_number']}: {d['line_contents']}" for d in details)
        steps.append(f"  {a} -> {b}   ({where})")
    return f"cycle among {comp}:\n" + "\n".join(steps)


def _cycles(graph: grimp.ImportGraph) -> list[str]:
    return [_describe(graph, comp) for comp in _components(graph)]


def test_scalinglab_has_no_import_cycle():
    graph = grimp.build_graph(
        "scalinglab",
        include_external_packages=False,
        exclude_type_checking_imports=True,
        cache_dir=None,  # read every module: a cache can hold a graph from before an edit
    )
    assert len(graph.modules) > 100  # the whole package was read
    cycles = _cycles(graph)
    assert not cycles, "\n".join(cycles)


def _toy(imports: list[tuple[str, str]]) -> grimp.ImportGraph:
    graph = grimp.ImportGraph()
    for importer, imported in imports:
        graph.add_import(importer=importer, imported=imported, line_number=1, line_contents="x")
    return graph


@pytest.mark.parametrize(
    ("imports", "expected"),
    [
        ([("p.a", "p.b"), ("p.b", "p.c")], []),  # a chain: no cycle
        ([("p.a", "p.b"), ("p.b", "p.a"), ("p.b", "p.c")], [["p.a", "p.b"]]),
        (  # a function-level import closing a three-module loop, as audit's did
            [("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.d", "p.a")],
            [["p.a", "p.b", "p.c"]],
        ),
        (  # two separate cycles, and a package importing its own submodule back
            [("p.a", "p.b"), ("p.b", "p.a"), ("p", "p.loop"), ("p.loop", "p")],
            [["p", "p.loop"], ["p.a", "p.b"]],
        ),
    ],
)
def test_the_cycle_finder_finds_cycles(imports, expected):
    graph = _toy(imports)
    assert _components(graph) == expected
    for message, comp in zip(_cycles(graph), expected, strict=True):
        assert message.startswith(f"cycle among {comp}")
        assert " -> " in message and "line 1: x" in message
