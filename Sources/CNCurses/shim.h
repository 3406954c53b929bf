// ncursesw for Swift: wide characters on, and the macros Swift cannot import as functions.
#ifndef GWLB_CNCURSES_SHIM_H
#define GWLB_CNCURSES_SHIM_H
#define NCURSES_WIDECHAR 1
#define _XOPEN_SOURCE_EXTENDED 1
#include <ncursesw/curses.h>
#include <locale.h>

static inline int gwlb_lines(void) { return LINES; }
static inline int gwlb_cols(void) { return COLS; }
static inline int gwlb_colors(void) { return COLORS; }
static inline int gwlb_color_pairs(void) { return COLOR_PAIRS; }
static inline attr_t gwlb_color_pair(int pair) { return COLOR_PAIR(pair); }
static inline attr_t gwlb_a_bold(void) { return A_BOLD; }
static inline attr_t gwlb_a_dim(void) { return A_DIM; }
static inline attr_t gwlb_a_underline(void) { return A_UNDERLINE; }
static inline attr_t gwlb_a_reverse(void) { return A_REVERSE; }
static inline int gwlb_key_resize(void) { return KEY_RESIZE; }
static inline int gwlb_key_up(void) { return KEY_UP; }
static inline int gwlb_key_down(void) { return KEY_DOWN; }
static inline int gwlb_key_left(void) { return KEY_LEFT; }
static inline int gwlb_key_right(void) { return KEY_RIGHT; }
static inline int gwlb_key_backspace(void) { return KEY_BACKSPACE; }
static inline int gwlb_key_enter(void) { return KEY_ENTER; }
static inline int gwlb_key_f1(void) { return KEY_F(1); }
static inline int gwlb_key_code_yes(void) { return KEY_CODE_YES; }
static inline WINDOW *gwlb_stdscr(void) { return stdscr; }
static inline int gwlb_key_mouse(void) { return KEY_MOUSE; }
/// Clicks and the wheel, reported at once (no click interval): true when the terminal has a mouse.
static inline int gwlb_enable_mouse(void) {
    mouseinterval(0);
    return mousemask(BUTTON1_PRESSED | BUTTON4_PRESSED | BUTTON5_PRESSED, NULL) != 0;
}
/// The mouse event behind KEY_MOUSE: 1 a left click, 4 wheel up, 5 wheel down, 0 anything else.
static inline int gwlb_read_mouse(int *row, int *column) {
    MEVENT event;
    if (getmouse(&event) != OK) return 0;
    *row = event.y;
    *column = event.x;
    if (event.bstate & BUTTON1_PRESSED) return 1;
    if (event.bstate & BUTTON4_PRESSED) return 4;
    if (event.bstate & BUTTON5_PRESSED) return 5;
    return 0;
}
static inline int gwlb_put(int row, int column, const char *text, attr_t attributes) {
    attr_set(attributes, 0, NULL);
    return mvaddstr(row, column, text);
}
#endif
