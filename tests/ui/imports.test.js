// The window's modules import one another without a cycle, under `node --test tests/ui`. A ring
// of imports once tied seven of them together: in a cycle the load order decides which module
// runs first and sees the others half-made, and none of them can be read or tested alone.
// Whatever has to go back up goes through ui/bus.js instead.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const UI = new URL("../../ui/", import.meta.url).pathname;

/** The modules each of `files` names in a static `import … from "./x.js"` (or `export … from`,
 * or a bare `import "./x.js"`), multi-line ones included: file name → sorted file names. */
function importGraph(dir, files) {
  const fromLine = /^\s*(?:import|export)\b[^;]*?\bfrom\s*["']\.\/([^"']+)["']|^\s*import\s*["']\.\/([^"']+)["']/gm;
  const graph = new Map();
  for (const file of files) {
    const source = readFileSync(join(dir, file), "utf8");
    const named = [...source.matchAll(fromLine)].map((m) => m[1] ?? m[2]);
    graph.set(file, [...new Set(named)].sort());
  }
  return graph;
}

/** The first import cycle found, as ["a.js", "b.js", …, "a.js"], or null. Depth first from
 * each module in name order, so the same graph always reports the same cycle. */
function findCycle(graph) {
  const done = new Set();
  const path = []; // the modules being walked, each importing the next
  const visit = (file) => {
    const open = path.indexOf(file);
    if (open >= 0) return [...path.slice(open), file];
    if (done.has(file)) return null;
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    done.add(file);
    return null;
  };
  for (const file of [...graph.keys()].sort()) {
    const cycle = visit(file);
    if (cycle) return cycle;
  }
  return null;
}

test("the cycle finder finds a ring and passes a tree", () => {
  const ring = new Map([["a.js", ["b.js"]], ["b.js", ["c.js"]], ["c.js", ["a.js", "d.js"]], ["d.js", []]]);
  assert.deepEqual(findCycle(ring), ["a.js", "b.js", "c.js", "a.js"]);
  const tree = new Map([["a.js", ["b.js", "c.js"]], ["b.js", ["c.js"]], ["c.js", []]]);
  assert.equal(findCycle(tree), null);
  assert.deepEqual(findCycle(new Map([["a.js", ["a.js"]]])), ["a.js", "a.js"]);
});

test("no module of ui/ imports itself back, through any path", () => {
  const files = readdirSync(UI).filter((f) => f.endsWith(".js")).sort();
  const graph = importGraph(UI, files);
  // A pattern that matched nothing would pass any code: app.js wires the rest, so it imports.
  assert.ok(graph.get("app.js")?.length, "no import found in ui/app.js: is the pattern still right?");
  for (const [file, imports] of graph) {
    for (const name of imports) assert.ok(existsSync(join(UI, name)), `ui/${file} imports ./${name}, which is not in ui/`);
  }
  const cycle = findCycle(graph);
  if (cycle) {
    const shown = [...graph].map(([file, imports]) => `  ${file} → ${imports.join(", ") || "(nothing)"}`).join("\n");
    assert.fail(`import cycle: ${cycle.join(" → ")}\n\nui/ imports:\n${shown}`);
  }
});
