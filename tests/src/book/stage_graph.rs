//! The book's picture of `docker/Dockerfile`: its stages, the images they
//! start from, and which stage takes files from which, drawn as an SVG from
//! the Dockerfile itself so the picture cannot drift from the build.
//!
//! The layout is the classic layered one: a stage sits one row below the
//! lowest stage it needs; an image sits just above the first stage that
//! uses it; an arrow that skips rows passes through a gap kept free in each
//! row it crosses, so it never runs through a box.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::builds::dockerfile::Dockerfile;

/// How one stage needs another stage or an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Link {
    /// `FROM`: the stage starts from it.
    Base,
    /// `COPY --from`: the stage copies files out of it.
    Copy,
    /// `RUN --mount=...,from=`: a step reads its files without copying them.
    Mount,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub label: String,
    /// An image from outside the Dockerfile rather than one of its stages.
    pub image: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub from: usize,
    pub to: usize,
    pub link: Link,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageGraph {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

impl StageGraph {
    pub fn of(dockerfile: &Dockerfile) -> Self {
        let defaults = argument_defaults(dockerfile);
        let mut graph = Self {
            nodes: Vec::new(),
            edges: Vec::new(),
        };
        let mut stage_index: BTreeMap<String, usize> = BTreeMap::new();
        for stage in &dockerfile.stages {
            let Some(name) = &stage.name else { continue };
            let to = graph.nodes.len();
            graph.nodes.push(Node {
                label: name.clone(),
                image: false,
            });
            let base = graph.source(&resolve(&stage.base, &defaults), &stage_index);
            graph.link(base, to, Link::Base);
            for instruction in &stage.instructions {
                let needs = match instruction.keyword.as_str() {
                    "COPY" | "ADD" => option_values(&instruction.arguments, "--from=")
                        .into_iter()
                        .map(|from| (from, Link::Copy))
                        .collect(),
                    "RUN" => mount_sources(&instruction.arguments)
                        .into_iter()
                        .map(|from| (from, Link::Mount))
                        .collect(),
                    _ => Vec::new(),
                };
                for (from, link) in needs {
                    let from = graph.source(&resolve(&from, &defaults), &stage_index);
                    graph.link(from, to, link);
                }
            }
            stage_index.insert(name.clone(), to);
        }
        graph
    }

    /// The node for a stage named earlier, or for an image (one node per
    /// image, however many stages use it).
    fn source(&mut self, reference: &str, stages: &BTreeMap<String, usize>) -> usize {
        if let Some(&index) = stages.get(reference) {
            return index;
        }
        if let Some(index) = self
            .nodes
            .iter()
            .position(|node| node.image && node.label == reference)
        {
            return index;
        }
        self.nodes.push(Node {
            label: reference.to_owned(),
            image: true,
        });
        self.nodes.len() - 1
    }

    fn link(&mut self, from: usize, to: usize, link: Link) {
        let edge = Edge { from, to, link };
        if !self.edges.contains(&edge) {
            self.edges.push(edge);
        }
    }

    /// Row of each node: a stage one below the lowest node it needs, an
    /// image one above the highest stage that uses it.
    fn rows(&self) -> Vec<usize> {
        let mut row: Vec<usize> = vec![0; self.nodes.len()];
        // Stages are numbered after everything they need, so one pass in
        // order settles them.
        for to in 0..self.nodes.len() {
            if self.nodes[to].image {
                continue;
            }
            row[to] = self
                .edges
                .iter()
                .filter(|edge| edge.to == to && !self.nodes[edge.from].image)
                .map(|edge| row[edge.from] + 1)
                .max()
                .unwrap_or(1);
        }
        for (index, node) in self.nodes.iter().enumerate() {
            if node.image {
                row[index] = self
                    .edges
                    .iter()
                    .filter(|edge| edge.from == index)
                    .map(|edge| row[edge.to].saturating_sub(1))
                    .min()
                    .unwrap_or(0);
            }
        }
        row
    }

    /// The graph as a standalone SVG document.
    pub fn svg(&self) -> String {
        Layout::of(self).svg(self)
    }
}

/// `${NAME}` replaced by the default of the global `ARG NAME=...`.
fn resolve(reference: &str, defaults: &BTreeMap<String, String>) -> String {
    let name = reference
        .strip_prefix("${")
        .and_then(|rest| rest.strip_suffix('}'))
        .or_else(|| reference.strip_prefix('$'));
    match name.and_then(|name| defaults.get(name)) {
        Some(default) => default.clone(),
        None => reference.to_owned(),
    }
}

fn argument_defaults(dockerfile: &Dockerfile) -> BTreeMap<String, String> {
    dockerfile
        .preamble
        .iter()
        .filter(|instruction| instruction.keyword == "ARG")
        .filter_map(|instruction| instruction.arguments.split_once('='))
        .map(|(name, default)| (name.trim().to_owned(), default.trim().to_owned()))
        .collect()
}

fn option_values(arguments: &str, option: &str) -> Vec<String> {
    arguments
        .split_whitespace()
        .filter_map(|word| word.strip_prefix(option))
        .map(str::to_owned)
        .collect()
}

/// The `from=` of every `--mount` of a `RUN`.
fn mount_sources(arguments: &str) -> Vec<String> {
    option_values(arguments, "--mount=")
        .iter()
        .flat_map(|mount| {
            mount
                .split(',')
                .filter_map(|field| field.strip_prefix("from="))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

const BOX_HEIGHT: f64 = 30.0;
const ROW_HEIGHT: f64 = 62.0;
const GAP: f64 = 24.0;
/// The width a gap kept free for a passing arrow takes in its row.
const PASSAGE_WIDTH: f64 = 16.0;
const CHAR_WIDTH: f64 = 7.8;
const MARGIN: f64 = 20.0;
const LEGEND_HEIGHT: f64 = 90.0;

/// Something that takes room in a row: a node, or the passage of an arrow
/// (edge index) through a row it skips.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Slot {
    Node(usize),
    Passage(usize),
}

impl Slot {
    fn width(self, box_width: f64) -> f64 {
        match self {
            Slot::Node(_) => box_width,
            Slot::Passage(_) => PASSAGE_WIDTH,
        }
    }
}

struct Layout {
    box_width: f64,
    /// Per row, its slots left to right with their centres.
    rows: Vec<Vec<(Slot, f64)>>,
}

impl Layout {
    fn of(graph: &StageGraph) -> Self {
        let longest = graph
            .nodes
            .iter()
            .map(|node| node.label.chars().count())
            .max()
            .unwrap_or(1);
        let box_width = (longest as f64 * CHAR_WIDTH + 24.0).ceil();
        let row_of = graph.rows();
        let row_count = row_of.iter().max().map_or(0, |last| last + 1);
        let mut members: Vec<Vec<Slot>> = vec![Vec::new(); row_count];
        for (index, row) in row_of.iter().enumerate() {
            members[*row].push(Slot::Node(index));
        }
        for (index, edge) in graph.edges.iter().enumerate() {
            for skipped in &mut members[row_of[edge.from] + 1..row_of[edge.to]] {
                skipped.push(Slot::Passage(index));
            }
        }

        // Where each slot sits in the latest row that holds it: a passage's
        // entry moves down with the arrow, row by row.
        let mut centre: BTreeMap<Slot, f64> = BTreeMap::new();
        let mut rows = Vec::with_capacity(row_count);
        for (row_index, slots) in members.into_iter().enumerate() {
            // Where an arrow comes from, seen from this row: its source when
            // that is one row up, else its own passage through that row.
            let above = |edge_index: usize| {
                let edge = &graph.edges[edge_index];
                let slot = if row_of[edge.from] + 1 == row_index {
                    Slot::Node(edge.from)
                } else {
                    Slot::Passage(edge_index)
                };
                centre.get(&slot).copied()
            };
            // Each slot wants to sit under what leads into it.
            let wanted = |slot: Slot| -> Option<f64> {
                let sources: Vec<f64> = match slot {
                    Slot::Node(index) => (0..graph.edges.len())
                        .filter(|edge_index| graph.edges[*edge_index].to == index)
                        .filter_map(above)
                        .collect(),
                    Slot::Passage(edge_index) => above(edge_index).into_iter().collect(),
                };
                (!sources.is_empty()).then(|| mean(sources.into_iter()))
            };
            let wishes: Vec<Option<f64>> = slots.iter().map(|slot| wanted(*slot)).collect();
            // Slots that want nothing keep their order, at the left.
            let mut ordered: Vec<(Slot, f64)> = slots
                .iter()
                .zip(&wishes)
                .enumerate()
                .map(|(order, (slot, wish))| (*slot, wish.unwrap_or(order as f64 * 1e-3)))
                .collect();
            ordered.sort_by(|a, b| a.1.total_cmp(&b.1));
            // Packed left to right, then the row as a whole moved so its
            // middle sits where its members want to be on average.
            let mut placed = Vec::with_capacity(ordered.len());
            let mut x = 0.0;
            for (slot, _) in &ordered {
                placed.push((*slot, x + slot.width(box_width) / 2.0));
                x += slot.width(box_width) + GAP;
            }
            let shift = if wishes.iter().any(Option::is_some) {
                mean(ordered.iter().map(|(_, at)| *at)) - mean(placed.iter().map(|(_, at)| *at))
            } else {
                0.0
            };
            for (slot, at) in &mut placed {
                *at += shift;
                centre.insert(*slot, *at);
            }
            rows.push(placed);
        }
        // Everything moved right so the leftmost box starts at the margin.
        let leftmost = rows
            .iter()
            .flatten()
            .map(|(slot, at)| at - slot.width(box_width) / 2.0)
            .fold(f64::INFINITY, f64::min);
        for (_, at) in rows.iter_mut().flatten() {
            *at += MARGIN - leftmost;
        }
        Self { box_width, rows }
    }

    fn position(&self, wanted: Slot) -> Option<(usize, f64)> {
        self.rows.iter().enumerate().find_map(|(row, slots)| {
            slots
                .iter()
                .find(|(slot, _)| *slot == wanted)
                .map(|(_, at)| (row, *at))
        })
    }

    fn centre_in(&self, row: usize, wanted: Slot) -> Option<f64> {
        self.rows[row]
            .iter()
            .find(|(slot, _)| *slot == wanted)
            .map(|(_, at)| *at)
    }

    fn svg(&self, graph: &StageGraph) -> String {
        let width = self
            .rows
            .iter()
            .flatten()
            .map(|(_, at)| at + self.box_width / 2.0)
            .fold(0.0, f64::max)
            + MARGIN;
        let width = width.max(560.0).round();
        let height = (MARGIN + self.rows.len() as f64 * ROW_HEIGHT + LEGEND_HEIGHT).round();
        let top = |row: usize| MARGIN + row as f64 * ROW_HEIGHT;

        let mut svg = String::new();
        let _ = writeln!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="13">"#
        );
        let _ = writeln!(
            svg,
            "<title>The stages of docker/Dockerfile and what each needs</title>"
        );
        svg.push_str(
            "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#444444\"/></marker></defs>\n",
        );
        svg.push_str("<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n");

        for (index, edge) in graph.edges.iter().enumerate() {
            let Some((from_row, from_x)) = self.position(Slot::Node(edge.from)) else {
                continue;
            };
            let Some((to_row, to_x)) = self.position(Slot::Node(edge.to)) else {
                continue;
            };
            let mut points = vec![(from_x, top(from_row) + BOX_HEIGHT)];
            for row in from_row + 1..to_row {
                if let Some(at) = self.centre_in(row, Slot::Passage(index)) {
                    points.push((at, top(row)));
                    points.push((at, top(row) + BOX_HEIGHT));
                }
            }
            points.push((to_x, top(to_row)));
            let _ = writeln!(
                svg,
                r##"<path d="{}" fill="none" stroke="#444444" stroke-width="1.4"{} marker-end="url(#arrow)"/>"##,
                curve(&points),
                dash(edge.link)
            );
        }

        for (index, node) in graph.nodes.iter().enumerate() {
            let Some((row, at)) = self.position(Slot::Node(index)) else {
                continue;
            };
            let (fill, stroke) = if node.image {
                ("#eeeeee", "#888888")
            } else {
                ("#e8f1f8", "#0072b2")
            };
            let _ = writeln!(
                svg,
                r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{BOX_HEIGHT}" rx="{}" fill="{fill}" stroke="{stroke}" stroke-width="1.5"/><text x="{at:.1}" y="{:.1}" text-anchor="middle"{}>{}</text>"#,
                at - self.box_width / 2.0,
                top(row),
                self.box_width,
                if node.image { 14 } else { 4 },
                top(row) + BOX_HEIGHT / 2.0 + 4.5,
                if node.image {
                    r#" font-style="italic""#
                } else {
                    ""
                },
                escape(&node.label)
            );
        }

        // The legend names only the kinds of link the graph has, and the
        // image shape when there is one.
        let legend_top = MARGIN + self.rows.len() as f64 * ROW_HEIGHT + 10.0;
        let mut line = 0.0;
        for (link, text) in [
            (Link::Base, "FROM: starts from"),
            (Link::Copy, "COPY --from: copies files out of"),
            (Link::Mount, "RUN --mount from: reads files of, keeps none"),
        ] {
            if !graph.edges.iter().any(|edge| edge.link == link) {
                continue;
            }
            let y = legend_top + line * 18.0;
            line += 1.0;
            let _ = writeln!(
                svg,
                r##"<path d="M{MARGIN},{y:.1} L{:.1},{y:.1}" stroke="#444444" stroke-width="1.4"{} marker-end="url(#arrow)"/><text x="{:.1}" y="{:.1}">{text}</text>"##,
                MARGIN + 40.0,
                dash(link),
                MARGIN + 50.0,
                y + 4.5
            );
        }
        if graph.nodes.iter().any(|node| node.image) {
            let y = legend_top + line * 18.0;
            let _ = writeln!(
                svg,
                r##"<rect x="{MARGIN}" y="{:.1}" width="40" height="12" rx="6" fill="#eeeeee" stroke="#888888"/><text x="{:.1}" y="{:.1}">an image from outside, by its default name</text>"##,
                y - 6.0,
                MARGIN + 50.0,
                y + 4.5
            );
        }
        svg.push_str("</svg>\n");
        svg
    }
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, count) = values.fold((0.0, 0.0), |(sum, count), value| (sum + value, count + 1.0));
    sum / count
}

fn dash(link: Link) -> &'static str {
    match link {
        Link::Base => "",
        Link::Copy => r#" stroke-dasharray="6 4""#,
        Link::Mount => r#" stroke-dasharray="2 3""#,
    }
}

/// A path through the points, each step a vertical S-curve.
fn curve(points: &[(f64, f64)]) -> String {
    let mut path = String::new();
    for (index, (x, y)) in points.iter().enumerate() {
        if index == 0 {
            let _ = write!(path, "M{x:.1},{y:.1}");
            continue;
        }
        let (px, py) = points[index - 1];
        if (px - x).abs() < 0.05 {
            let _ = write!(path, " L{x:.1},{y:.1}");
        } else {
            let middle = (py + y) / 2.0;
            let _ = write!(
                path,
                " C{px:.1},{middle:.1} {x:.1},{middle:.1} {x:.1},{y:.1}"
            );
        }
    }
    path
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
ARG BASE=debian:bookworm-slim
ARG TOOLS=tools
FROM rust:1 AS tools
FROM ${TOOLS} AS planner
RUN --mount=type=bind,target=/src cargo metadata
FROM tools AS builder
COPY --from=planner /recipe.json /recipe.json
RUN --mount=type=cache,target=/c --mount=type=bind,from=planner,source=/x,target=/y true
FROM ${BASE} AS runner
COPY --from=builder /bin/app /bin/app
";

    fn labels(graph: &StageGraph) -> Vec<(String, String, Link)> {
        graph
            .edges
            .iter()
            .map(|edge| {
                (
                    graph.nodes[edge.from].label.clone(),
                    graph.nodes[edge.to].label.clone(),
                    edge.link,
                )
            })
            .collect()
    }

    #[test]
    fn stages_images_and_their_links_are_read_with_argument_defaults() {
        let graph = StageGraph::of(&Dockerfile::parse(SAMPLE));
        let to = |from: &str, to: &str, link| (from.to_owned(), to.to_owned(), link);
        assert_eq!(
            labels(&graph),
            vec![
                to("rust:1", "tools", Link::Base),
                to("tools", "planner", Link::Base),
                to("tools", "builder", Link::Base),
                to("planner", "builder", Link::Copy),
                to("planner", "builder", Link::Mount),
                to("debian:bookworm-slim", "runner", Link::Base),
                to("builder", "runner", Link::Copy),
            ]
        );
        let images: Vec<&str> = graph
            .nodes
            .iter()
            .filter(|node| node.image)
            .map(|node| node.label.as_str())
            .collect();
        assert_eq!(images, ["rust:1", "debian:bookworm-slim"]);
    }

    #[test]
    fn a_stage_is_below_what_it_needs_and_an_image_just_above_its_first_user() {
        let graph = StageGraph::of(&Dockerfile::parse(SAMPLE));
        let rows = graph.rows();
        let row = |label: &str| {
            rows[graph
                .nodes
                .iter()
                .position(|node| node.label == label)
                .unwrap()]
        };
        assert_eq!(row("rust:1"), 0);
        assert_eq!(row("tools"), 1);
        assert_eq!(row("planner"), 2);
        assert_eq!(row("builder"), 3);
        assert_eq!(row("runner"), 4);
        assert_eq!(row("debian:bookworm-slim"), 3);
    }

    #[test]
    fn an_arrow_that_skips_a_row_passes_beside_the_box_in_it() {
        // tools -> builder skips planner's row; its passage must not overlap
        // planner's box.
        let graph = StageGraph::of(&Dockerfile::parse(SAMPLE));
        let layout = Layout::of(&graph);
        let planner = graph
            .nodes
            .iter()
            .position(|node| node.label == "planner")
            .unwrap();
        let skipping = graph
            .edges
            .iter()
            .position(|edge| graph.nodes[edge.to].label == "builder" && edge.link == Link::Base)
            .unwrap();
        let (planner_row, planner_x) = layout.position(Slot::Node(planner)).unwrap();
        let (passage_row, passage_x) = layout.position(Slot::Passage(skipping)).unwrap();
        assert_eq!(planner_row, passage_row);
        assert!(
            (planner_x - passage_x).abs() >= layout.box_width / 2.0 + PASSAGE_WIDTH / 2.0,
            "the passage at {passage_x} runs through planner's box at {planner_x}"
        );
    }
}
