/* lc_pattern.c: string.find, match, gmatch and gsub under the time budget.
 *
 * Lua patterns backtrack: ("a?"):rep(26) .. ("a"):rep(26) .. "b" takes minutes, all
 * of it inside one C call where the count hook never fires. These are LuaJIT's own
 * functions (Lua 5.1 semantics, from lib_string.c, MIT licence) with one change:
 * the matcher counts its steps and checks the call's deadline every
 * PATTERN_CHECK_STEPS of them. */
#define _GNU_SOURCE /* memmem */
#include <ctype.h>
#include <string.h>

#include "vm/lc_vm.h"

#define PATTERN_MAX_CAPTURES 32
#define PATTERN_MAX_DEPTH 200 /* LuaJIT's LJ_MAX_XLEVEL: "pattern too complex" beyond */
#define PATTERN_CHECK_STEPS 4096
#define CAP_UNFINISHED (-1)
#define CAP_POSITION (-2)
#define L_ESC '%'
#define SPECIALS "^$*+?.([%-"

typedef struct match_state {
  const char *src_init;
  const char *src_end;
  lua_State *L;
  int level; /* captures, finished or not */
  int depth;
  unsigned steps;
  struct {
    const char *init;
    ptrdiff_t len;
  } capture[PATTERN_MAX_CAPTURES];
} match_state;

static int check_capture(match_state *ms, int l) {
  l -= '1';
  if (l < 0 || l >= ms->level || ms->capture[l].len == CAP_UNFINISHED)
    return luaL_error(ms->L, "invalid capture index");
  return l;
}

static int capture_to_close(match_state *ms) {
  for (int level = ms->level - 1; level >= 0; level--)
    if (ms->capture[level].len == CAP_UNFINISHED) return level;
  return luaL_error(ms->L, "invalid pattern capture");
}

static const char *class_end(match_state *ms, const char *p) {
  switch (*p++) {
  case L_ESC:
    if (*p == '\0') luaL_error(ms->L, "malformed pattern (ends with '%%')");
    return p + 1;
  case '[':
    if (*p == '^') p++;
    do { /* look for a ']' */
      if (*p == '\0') luaL_error(ms->L, "malformed pattern (missing ']')");
      if (*(p++) == L_ESC && *p != '\0') p++; /* skip escapes (e.g. '%]') */
    } while (*p != ']');
    return p + 1;
  default: return p;
  }
}

static int match_class(int c, int cl) {
  int res;
  switch (tolower(cl)) {
  case 'a': res = isalpha(c); break;
  case 'c': res = iscntrl(c); break;
  case 'd': res = isdigit(c); break;
  case 'g': res = isgraph(c); break;
  case 'l': res = islower(c); break;
  case 'p': res = ispunct(c); break;
  case 's': res = isspace(c); break;
  case 'u': res = isupper(c); break;
  case 'w': res = isalnum(c); break;
  case 'x': res = isxdigit(c); break;
  case 'z': res = c == 0; break;
  default: return cl == c;
  }
  return isupper(cl) ? !res : res;
}

static int match_bracket_class(int c, const char *p, const char *ec) {
  int sig = 1;
  if (*(p + 1) == '^') {
    sig = 0;
    p++; /* skip the '^' */
  }
  while (++p < ec) {
    if (*p == L_ESC) {
      p++;
      if (match_class(c, (unsigned char)*p)) return sig;
    } else if (*(p + 1) == '-' && p + 2 < ec) {
      p += 2;
      if ((unsigned char)*(p - 2) <= c && c <= (unsigned char)*p) return sig;
    } else if ((unsigned char)*p == c) {
      return sig;
    }
  }
  return !sig;
}

static int single_match(int c, const char *p, const char *ep) {
  switch (*p) {
  case '.': return 1;
  case L_ESC: return match_class(c, (unsigned char)*(p + 1));
  case '[': return match_bracket_class(c, p, ep - 1);
  default: return (unsigned char)*p == c;
  }
}

static const char *match(match_state *ms, const char *s, const char *p);

static const char *match_balance(match_state *ms, const char *s, const char *p) {
  if (*p == 0 || *(p + 1) == 0) luaL_error(ms->L, "unbalanced pattern");
  if (*s != *p) return NULL;
  int b = *p, e = *(p + 1), cont = 1;
  while (++s < ms->src_end) {
    if (*s == e) {
      if (--cont == 0) return s + 1;
    } else if (*s == b) {
      cont++;
    }
  }
  return NULL; /* string ends out of balance */
}

static const char *max_expand(match_state *ms, const char *s, const char *p, const char *ep) {
  ptrdiff_t i = 0; /* the longest run of the item */
  while (s + i < ms->src_end && single_match((unsigned char)*(s + i), p, ep)) i++;
  for (; i >= 0; i--) { /* the longest run that lets the rest match */
    const char *res = match(ms, s + i, ep + 1);
    if (res) return res;
  }
  return NULL;
}

static const char *min_expand(match_state *ms, const char *s, const char *p, const char *ep) {
  for (;;) {
    const char *res = match(ms, s, ep + 1);
    if (res) return res;
    if (s < ms->src_end && single_match((unsigned char)*s, p, ep))
      s++;
    else
      return NULL;
  }
}

static const char *start_capture(match_state *ms, const char *s, const char *p, int what) {
  int level = ms->level;
  if (level >= PATTERN_MAX_CAPTURES) luaL_error(ms->L, "too many captures");
  ms->capture[level].init = s;
  ms->capture[level].len = what;
  ms->level = level + 1;
  const char *res = match(ms, s, p);
  if (!res) ms->level--; /* undo the capture */
  return res;
}

static const char *end_capture(match_state *ms, const char *s, const char *p) {
  int l = capture_to_close(ms);
  ms->capture[l].len = s - ms->capture[l].init; /* close the capture */
  const char *res = match(ms, s, p);
  if (!res) ms->capture[l].len = CAP_UNFINISHED; /* undo it */
  return res;
}

static const char *match_capture(match_state *ms, const char *s, int l) {
  l = check_capture(ms, l);
  size_t len = (size_t)ms->capture[l].len;
  if ((size_t)(ms->src_end - s) >= len && memcmp(ms->capture[l].init, s, len) == 0) return s + len;
  return NULL;
}

static const char *match(match_state *ms, const char *s, const char *p) {
  if (++ms->depth > PATTERN_MAX_DEPTH) luaL_error(ms->L, "pattern too complex");
  /* The one change to LuaJIT's matcher: every step counts against the deadline. */
  if (++ms->steps % PATTERN_CHECK_STEPS == 0) lc_state_check_deadline(ms->L);
init: /* goto instead of tail recursion */
  switch (*p) {
  case '(':
    if (*(p + 1) == ')')
      s = start_capture(ms, s, p + 2, CAP_POSITION);
    else
      s = start_capture(ms, s, p + 1, CAP_UNFINISHED);
    break;
  case ')': s = end_capture(ms, s, p + 1); break;
  case L_ESC:
    switch (*(p + 1)) {
    case 'b': /* balanced string */
      s = match_balance(ms, s, p + 2);
      if (!s) break;
      p += 4;
      goto init;
    case 'f': { /* frontier */
      p += 2;
      if (*p != '[') luaL_error(ms->L, "missing '[' after '%%f' in pattern");
      const char *ep = class_end(ms, p);
      char previous = s == ms->src_init ? '\0' : *(s - 1);
      if (match_bracket_class((unsigned char)previous, p, ep - 1) ||
          !match_bracket_class((unsigned char)*s, p, ep - 1)) {
        s = NULL;
        break;
      }
      p = ep;
      goto init;
    }
    default:
      if (isdigit((unsigned char)*(p + 1))) { /* back reference %1-%9 */
        s = match_capture(ms, s, (unsigned char)*(p + 1));
        if (!s) break;
        p += 2;
        goto init;
      }
      goto dflt;
    }
    break;
  case '\0': /* end of pattern: a match */ break;
  case '$':
    if (*(p + 1) != '\0') goto dflt; /* '$' only anchors at the pattern's end */
    if (s != ms->src_end) s = NULL;
    break;
  default:
  dflt : {
    const char *ep = class_end(ms, p);
    int m = s < ms->src_end && single_match((unsigned char)*s, p, ep);
    switch (*ep) {
    case '?': {
      const char *res;
      if (m && (res = match(ms, s + 1, ep + 1)) != NULL) {
        s = res;
        break;
      }
      p = ep + 1;
      goto init;
    }
    case '*': s = max_expand(ms, s, p, ep); break;
    case '+': s = m ? max_expand(ms, s + 1, p, ep) : NULL; break;
    case '-': s = min_expand(ms, s, p, ep); break;
    default:
      if (m) {
        s++;
        p = ep;
        goto init;
      }
      s = NULL;
      break;
    }
    break;
  }
  }
  ms->depth--;
  return s;
}

static void push_one_capture(match_state *ms, int i, const char *s, const char *e) {
  if (i >= ms->level) {
    if (i != 0) luaL_error(ms->L, "invalid capture index");
    lua_pushlstring(ms->L, s, (size_t)(e - s)); /* the whole match */
    return;
  }
  ptrdiff_t l = ms->capture[i].len;
  if (l == CAP_UNFINISHED) luaL_error(ms->L, "unfinished capture");
  if (l == CAP_POSITION)
    lua_pushinteger(ms->L, ms->capture[i].init - ms->src_init + 1);
  else
    lua_pushlstring(ms->L, ms->capture[i].init, (size_t)l);
}

static int push_captures(match_state *ms, const char *s, const char *e) {
  int n = ms->level == 0 && s ? 1 : ms->level;
  luaL_checkstack(ms->L, n, "too many captures");
  for (int i = 0; i < n; i++) push_one_capture(ms, i, s, e);
  return n;
}

static void start_match(match_state *ms, lua_State *L, const char *s, size_t len) {
  ms->L = L;
  ms->src_init = s;
  ms->src_end = s + len;
  ms->steps = 0;
}

static int find_aux(lua_State *L, int find) {
  size_t ls, lp;
  const char *s = luaL_checklstring(L, 1, &ls);
  const char *p = luaL_checklstring(L, 2, &lp);
  ptrdiff_t init = luaL_optinteger(L, 3, 1);
  if (init < 0)
    init += (ptrdiff_t)ls;
  else
    init--;
  if (init < 0) init = 0;
  if ((size_t)init > ls) init = (ptrdiff_t)ls;
  if (find && (lua_toboolean(L, 4) || !strpbrk(p, SPECIALS))) { /* a plain search */
    const char *q = memmem(s + init, ls - (size_t)init, p, lp);
    if (q) {
      lua_pushinteger(L, q - s + 1);
      lua_pushinteger(L, q - s + (ptrdiff_t)lp);
      return 2;
    }
  } else {
    match_state ms;
    const char *at = s + init;
    int anchor = *p == '^';
    if (anchor) p++;
    start_match(&ms, L, s, ls);
    do {
      ms.level = ms.depth = 0;
      const char *e = match(&ms, at, p);
      if (e && find) {
        lua_pushinteger(L, at - s + 1);
        lua_pushinteger(L, e - s);
        return push_captures(&ms, NULL, NULL) + 2;
      }
      if (e) return push_captures(&ms, at, e);
    } while (at++ < ms.src_end && !anchor);
  }
  lua_pushnil(L);
  return 1;
}

static int pattern_find(lua_State *L) { return find_aux(L, 1); }

static int pattern_match(lua_State *L) { return find_aux(L, 0); }

static int gmatch_next(lua_State *L) {
  size_t ls;
  const char *s = lua_tolstring(L, lua_upvalueindex(1), &ls);
  const char *p = lua_tostring(L, lua_upvalueindex(2));
  match_state ms;
  start_match(&ms, L, s, ls);
  for (const char *at = s + lua_tointeger(L, lua_upvalueindex(3)); at <= ms.src_end; at++) {
    ms.level = ms.depth = 0;
    const char *e = match(&ms, at, p);
    if (e) {
      lua_Integer next = e - s;
      if (e == at) next++; /* an empty match: move on */
      lua_pushinteger(L, next);
      lua_replace(L, lua_upvalueindex(3));
      return push_captures(&ms, at, e);
    }
  }
  return 0;
}

static int pattern_gmatch(lua_State *L) {
  luaL_checkstring(L, 1);
  luaL_checkstring(L, 2);
  lua_settop(L, 2);
  lua_pushinteger(L, 0);
  lua_pushcclosure(L, gmatch_next, 3);
  return 1;
}

static void add_string(match_state *ms, luaL_Buffer *b, const char *s, const char *e) {
  size_t l;
  const char *news = lua_tolstring(ms->L, 3, &l);
  for (size_t i = 0; i < l; i++) {
    if (news[i] != L_ESC) {
      luaL_addchar(b, news[i]);
      continue;
    }
    i++; /* skip the escape */
    if (!isdigit((unsigned char)news[i])) {
      luaL_addchar(b, news[i]);
    } else if (news[i] == '0') {
      luaL_addlstring(b, s, (size_t)(e - s));
    } else {
      push_one_capture(ms, news[i] - '1', s, e);
      luaL_addvalue(b);
    }
  }
}

static void add_value(match_state *ms, luaL_Buffer *b, const char *s, const char *e) {
  lua_State *L = ms->L;
  switch (lua_type(L, 3)) {
  case LUA_TNUMBER:
  case LUA_TSTRING: add_string(ms, b, s, e); return;
  case LUA_TFUNCTION:
    lua_pushvalue(L, 3);
    lua_call(L, push_captures(ms, s, e), 1);
    break;
  default: /* a table */
    push_one_capture(ms, 0, s, e);
    lua_gettable(L, 3);
    break;
  }
  if (!lua_toboolean(L, -1)) { /* nil or false: keep the original text */
    lua_pop(L, 1);
    lua_pushlstring(L, s, (size_t)(e - s));
  } else if (!lua_isstring(L, -1)) {
    luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
  }
  luaL_addvalue(b);
}

static int pattern_gsub(lua_State *L) {
  size_t srcl;
  const char *src = luaL_checklstring(L, 1, &srcl);
  const char *p = luaL_checkstring(L, 2);
  int tr = lua_type(L, 3);
  int max_s = luaL_optint(L, 4, (int)(srcl + 1));
  int anchor = *p == '^';
  if (anchor) p++;
  luaL_argcheck(L,
                tr == LUA_TNUMBER || tr == LUA_TSTRING || tr == LUA_TFUNCTION || tr == LUA_TTABLE,
                3, "string/function/table expected");
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  match_state ms;
  start_match(&ms, L, src, srcl);
  int n = 0;
  while (n < max_s) {
    ms.level = ms.depth = 0;
    const char *e = match(&ms, src, p);
    if (e) {
      n++;
      add_value(&ms, &b, src, e);
    }
    if (e && e > src)
      src = e; /* skip a non-empty match */
    else if (src < ms.src_end)
      luaL_addchar(&b, *src++);
    else
      break;
    if (anchor) break;
  }
  luaL_addlstring(&b, src, (size_t)(ms.src_end - src));
  luaL_pushresult(&b);
  lua_pushinteger(L, n);
  return 2;
}

void lc_pattern_install(lua_State *L) {
  static const luaL_Reg functions[] = {{"find", pattern_find},
                                       {"match", pattern_match},
                                       {"gmatch", pattern_gmatch},
                                       {"gsub", pattern_gsub}};
  for (size_t i = 0; i < sizeof functions / sizeof functions[0]; i++) {
    lua_pushcfunction(L, functions[i].func);
    lua_setfield(L, -2, functions[i].name);
  }
}
