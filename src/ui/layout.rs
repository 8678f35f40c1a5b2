//! Screen geometry, shared by the state (how far a page scrolls, what a click hits) and the
//! views (where things are drawn), so neither has to ask the other.

use ratatui::layout::{Constraint, Direction, Layout, Position, Rect};

use crate::domain::Status;

/// Rows one card takes on the board.
pub const CARD_HEIGHT: u16 = 3;
/// Narrowest a board column may get before fewer columns are shown.
pub const MIN_COLUMN_WIDTH: u16 = 26;
/// Width below which panes stack vertically instead of side by side.
const MIN_PANE_WIDTH: u16 = 50;
/// Fewest output rows a stacked pane may keep before the panes give way to the fleet list.
const MIN_PANE_BODY: u16 = 3;
/// Width from which the fleet list and the selected pane sit side by side.
const FLEET_SIDE_BY_SIDE: u16 = 120;

/// What the split of the screen depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Terminal size (columns, rows).
    pub size: (u16, u16),
    /// A problem banner is shown.
    pub banner: bool,
    /// The issue detail covers the board and the panes.
    pub detail: bool,
    /// How many agent panes there are.
    pub panes: usize,
    /// The selected pane.
    pub pane_cursor: usize,
    /// The selected pane fills the body.
    pub zoom: bool,
    /// The focused board column.
    pub col: usize,
}

impl Shape {
    /// The whole terminal.
    pub fn screen(&self) -> Rect {
        Rect::new(0, 0, self.size.0, self.size.1)
    }
}

/// Where each part of the screen goes.
#[derive(Debug, Clone, Copy)]
pub struct Areas {
    /// Top line.
    pub header: Rect,
    /// Problem banner, when there is one.
    pub banner: Option<Rect>,
    /// Board, inbox or detail.
    pub main: Rect,
    /// Agent panes, when any.
    pub panes: Option<Rect>,
    /// Bottom hint line.
    pub hint: Rect,
}

/// Splits `area` for the current state.
pub fn areas(shape: &Shape, area: Rect) -> Areas {
    let banner_h = u16::from(shape.banner);
    let [header, banner, body, hint] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(banner_h),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    let banner = (banner_h > 0).then_some(banner);
    if shape.panes == 0 || shape.detail {
        return Areas {
            header,
            banner,
            main: body,
            panes: None,
            hint,
        };
    }
    if shape.zoom && shape.pane_cursor < shape.panes {
        let main = Rect { height: 0, ..body };
        return Areas {
            header,
            banner,
            main,
            panes: Some(body),
            hint,
        };
    }
    let mut panes_h = panes_height(body.height);
    if crowded(
        shape.panes,
        Rect {
            height: panes_h,
            ..body
        },
    ) {
        // The fleet list and the selected pane need more than the usual share.
        panes_h = panes_h.max(body.height / 2);
    }
    let [main, panes] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(panes_h)]).areas(body);
    Areas {
        header,
        banner,
        main,
        panes: Some(panes),
        hint,
    }
}

/// Rows the panes get below the board (out of the body's).
fn panes_height(body: u16) -> u16 {
    (body * 2 / 5).max(6).min(body)
}

/// Whether `n` panes in `area` would each show fewer than [`MIN_PANE_BODY`] lines (stacked,
/// as they are when too narrow to sit side by side): then the area shows the fleet list.
fn crowded(n: usize, area: Rect) -> bool {
    let n = u16::try_from(n).unwrap_or(u16::MAX);
    n > 1 && area.width / n < MIN_PANE_WIDTH && area.height / n < MIN_PANE_BODY + 2
}

/// The body between the header (and banner) and the hint line.
fn body(shape: &Shape) -> Rect {
    let top = 1 + u16::from(shape.banner);
    let screen = shape.screen();
    Rect::new(0, top, screen.width, screen.height.saturating_sub(top + 1))
}

/// Whether the pane area shows the fleet list (one line per agent) and the selected pane.
pub fn is_fleet(shape: &Shape) -> bool {
    if shape.detail || (shape.zoom && shape.pane_cursor < shape.panes) {
        return false;
    }
    let body = body(shape);
    crowded(
        shape.panes,
        Rect {
            height: panes_height(body.height),
            ..body
        },
    )
}

/// The fleet's split of the pane area: the list (its title on the first row) and the
/// selected agent's pane, side by side when wide, the list above when not.
pub fn fleet_split(area: Rect, n: usize) -> (Rect, Rect) {
    if area.width >= FLEET_SIDE_BY_SIDE {
        let [list, pane] =
            Layout::horizontal([Constraint::Percentage(50), Constraint::Min(0)]).areas(area);
        (list, pane)
    } else {
        // The list takes what its agents need (its title and a line each) up to three
        // fifths; the pane the rest.
        let lines = u16::try_from(n).unwrap_or(u16::MAX).saturating_add(1);
        let pane_h = area
            .height
            .saturating_sub(lines)
            .max(area.height * 2 / 5)
            .max(MIN_PANE_BODY + 2)
            .min(area.height);
        let [list, pane] =
            Layout::vertical([Constraint::Min(0), Constraint::Length(pane_h)]).areas(area);
        (list, pane)
    }
}

/// The first of `n` agents the fleet list shows in `rows`: it turns whole pages, so lines
/// hold still while the selection moves within a page, and the selected agent is always on
/// it; the last page is a full one.
pub fn fleet_first(cursor: usize, rows: usize, n: usize) -> usize {
    match rows {
        0 => cursor,
        _ => (cursor / rows * rows).min(n.saturating_sub(rows)),
    }
}

/// Board columns shown side by side at this terminal width.
pub fn visible_columns(width: u16) -> usize {
    let all = Status::ALL.len();
    usize::from(width / MIN_COLUMN_WIDTH).clamp(1, all)
}

/// The first column shown when `col` has focus (the focused one is always visible).
pub fn first_column(col: usize, visible: usize) -> usize {
    let all = Status::ALL.len();
    if col < visible {
        0
    } else {
        (col + 1 - visible).min(all - visible)
    }
}

/// The board in `area`: the column switcher strip (when not every column fits) and each
/// shown column with its index.
pub fn board_columns(shape: &Shape, area: Rect) -> (Option<Rect>, Vec<(usize, Rect)>) {
    let n = visible_columns(shape.size.0);
    let (strip, cols_area) = if n < Status::ALL.len() && area.height > 4 {
        let [s, c] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
        (Some(s), c)
    } else {
        (None, area)
    };
    let first = first_column(shape.col, n);
    let rects = Layout::horizontal(vec![Constraint::Ratio(1, n as u32); n]).split(cols_area);
    let cols = rects
        .iter()
        .enumerate()
        .map(|(i, r)| (first + i, *r))
        .collect();
    (strip, cols)
}

/// Cards that fit in a column of `height` rows (inside its border).
pub fn cards_in(height: u16) -> i64 {
    i64::from(height.saturating_sub(2) / CARD_HEIGHT)
}

/// Cards that fit in one board column at the current size: what the board draws, so what
/// the cursor scrolls by (at least one).
pub fn card_rows(shape: &Shape) -> i64 {
    let main = areas(shape, shape.screen()).main;
    let (_, cols) = board_columns(shape, main);
    cols.first().map_or(0, |(_, r)| cards_in(r.height)).max(1)
}

/// The board column and the card row within it (counted from the first card shown) under a
/// screen position.
pub fn board_slot(shape: &Shape, x: u16, y: u16) -> Option<(usize, i64)> {
    let main = areas(shape, shape.screen()).main;
    let (_, cols) = board_columns(shape, main);
    let (col, r) = cols
        .into_iter()
        .find(|(_, r)| x >= r.x && x < r.x + r.width && y > r.y && y < r.y + r.height)?;
    Some((col, i64::from((y - r.y - 1) / CARD_HEIGHT)))
}

/// Where each shown pane goes in `area`: all of them side by side (stacked when narrow), or
/// the zoomed one alone.
pub fn pane_rects(shape: &Shape, area: Rect) -> Vec<(usize, Rect)> {
    let shown: Vec<usize> = if shape.zoom {
        (shape.pane_cursor < shape.panes)
            .then_some(shape.pane_cursor)
            .into_iter()
            .collect()
    } else {
        (0..shape.panes).collect()
    };
    if shown.is_empty() {
        return Vec::new();
    }
    let n = shown.len() as u32;
    let dir = if area.width / n as u16 >= MIN_PANE_WIDTH {
        Direction::Horizontal
    } else {
        Direction::Vertical
    };
    let rects = Layout::default()
        .direction(dir)
        .constraints(vec![Constraint::Ratio(1, n); shown.len()])
        .split(area);
    shown.into_iter().zip(rects.iter().copied()).collect()
}

/// The agent pane (or fleet list line) under a screen position.
pub fn pane_hit(shape: &Shape, x: u16, y: u16) -> Option<usize> {
    let panes = areas(shape, shape.screen()).panes?;
    let at = Position { x, y };
    if is_fleet(shape) {
        let (list, pane) = fleet_split(panes, shape.panes);
        if pane.contains(at) {
            return Some(shape.pane_cursor);
        }
        // The title row, then one agent a row.
        if !list.contains(at) || y == list.y {
            return None;
        }
        let rows = usize::from(list.height.saturating_sub(1));
        let i = fleet_first(shape.pane_cursor, rows, shape.panes) + usize::from(y - list.y - 1);
        return (i < shape.panes).then_some(i);
    }
    pane_rects(shape, panes)
        .into_iter()
        .find(|(_, r)| r.contains(at))
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(w: u16, h: u16) -> Shape {
        Shape {
            size: (w, h),
            banner: false,
            detail: false,
            panes: 0,
            pane_cursor: 0,
            zoom: false,
            col: 0,
        }
    }

    #[test]
    fn the_focused_column_is_always_shown() {
        assert_eq!(visible_columns(80), 3);
        assert_eq!(visible_columns(10), 1);
        assert_eq!(visible_columns(500), 6);
        assert_eq!(first_column(0, 3), 0);
        assert_eq!(first_column(4, 3), 2);
        assert_eq!(first_column(5, 3), 3);
        let mut s = shape(80, 24);
        s.col = 4;
        let (strip, cols) = board_columns(&s, Rect::new(0, 1, 80, 22));
        assert!(strip.is_some());
        assert_eq!(cols.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [2, 3, 4]);
    }

    #[test]
    fn panes_take_the_lower_part_and_clicks_find_them() {
        let mut s = shape(120, 40);
        assert_eq!(
            card_rows(&s),
            11,
            "38 rows less the switcher strip and borders"
        );
        s.panes = 2;
        let a = areas(&s, s.screen());
        let panes = a.panes.expect("panes are shown");
        assert_eq!(pane_hit(&s, 1, panes.y + 1), Some(0));
        assert_eq!(pane_hit(&s, 119, panes.y + 1), Some(1));
        assert_eq!(pane_hit(&s, 1, 2), None);
        assert_eq!(board_slot(&s, 1, 3), Some((0, 0)));
        s.detail = true;
        assert!(areas(&s, s.screen()).panes.is_none());
    }

    #[test]
    fn crowded_panes_become_the_fleet_list_and_its_lines_are_hit() {
        let mut s = shape(80, 24);
        s.panes = 1;
        assert!(!is_fleet(&s));
        s.panes = 2;
        assert!(is_fleet(&s), "two stacked panes would show two lines each");
        let (list, pane) = fleet_split(areas(&s, s.screen()).panes.expect("panes"), 2);
        assert_eq!(
            (list.height, pane.height),
            (3, 8),
            "the pane takes the rows left"
        );
        s.zoom = true;
        assert!(!is_fleet(&s), "zoomed, the selected pane fills the body");
        let mut s = shape(300, 100);
        s.panes = 6;
        assert!(!is_fleet(&s), "six panes side by side");
        s.panes = 64;
        s.pane_cursor = 50;
        assert!(is_fleet(&s));
        let (list, pane) = fleet_split(areas(&s, s.screen()).panes.expect("panes"), 64);
        assert_eq!((list.y, pane.y), (pane.y, list.y), "side by side");
        // 48 rows a page, the last page full: agents 16..64, the 51st on its 35th row
        assert_eq!(fleet_first(50, 48, 64), 16);
        assert_eq!(pane_hit(&s, 2, list.y + 35), Some(50));
        assert_eq!(pane_hit(&s, 2, list.y), None, "the title row");
        assert_eq!(pane_hit(&s, pane.x + 2, pane.y + 2), Some(50));
        assert_eq!(fleet_first(3, 5, 32), 0);
        assert_eq!(fleet_first(7, 5, 32), 5);
        assert_eq!(fleet_first(31, 5, 32), 27);
    }
}
