// omnisync-cli-reference: writes the shell completions of omnisyncctl and omnisyncd (bash, zsh, fish) and the
// option and command lists of their man pages from their own command-line definitions: the CLI11 apps that
// `omnisyncctl` and `omnisyncd` parse with (daemon/ctl/cli.hpp, daemon/app/cli.hpp) and, for each omnisyncctl
// command that talks to the daemon, its declaration in daemon/control/catalogue.hpp (allowed values, result,
// scope). Run by the build (packaging/CMakeLists.txt), never installed:
//   omnisync-cli-reference OUTDIR
// writes OUTDIR/{omnisyncctl,omnisyncd}.bash, _omnisyncctl, _omnisyncd, {omnisyncctl,omnisyncd}.fish and the
// Markdown fragments omnisyncctl.options.md, omnisyncctl.commands.md, omnisyncd.options.md (docs/man/ splices
// them into the pages).
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "daemon/app/cli.hpp"
#include "daemon/control/catalogue.hpp"
#include "daemon/ctl/cli.hpp"

namespace {

namespace fs = std::filesystem;
using omnisync::control::command_spec;

// ---- the model: what every output needs from a CLI11 app ------------------------------------------------------

/// How a value is completed.
enum class value_kind { none, text, file, dir };

struct option {
  std::vector<std::string> longs, shorts;  // without dashes
  std::string help;
  value_kind value = value_kind::none;     // none: a flag
  std::string value_name;                  // FILE, DIR, TEXT, INT, ...
  std::string default_value;
  bool required = false;
  std::vector<std::pair<std::string, std::string>> choices;  // value, help
};

struct positional {
  std::string name, help;
  bool required = false;
  value_kind value = value_kind::text;
  std::vector<std::pair<std::string, std::string>> choices;
};

struct command {
  std::string name, help;
  std::vector<option> options;
  std::vector<positional> positionals;
  const command_spec* spec = nullptr;  // the daemon command it sends, if any
};

struct program {
  std::string name, help;
  std::vector<option> options;
  std::vector<command> commands;
};

value_kind kind_of(const std::string& type_name) {
  if (type_name == "FILE") return value_kind::file;
  if (type_name == "DIR") return value_kind::dir;
  return value_kind::text;
}

/// The type name without the validators CLI11 appends ("TEXT:{list,show}" -> "TEXT").
std::string base_type(const CLI::Option& o) {
  std::string t = o.get_type_name();
  if (auto colon = t.find(':'); colon != std::string::npos) t.resize(colon);
  return t;
}

/// Choices of argument `name` of the daemon command `spec` (the catalogue is the one place they are declared).
std::vector<std::pair<std::string, std::string>> choices_of(const command_spec* spec, std::string_view name) {
  std::vector<std::pair<std::string, std::string>> out;
  if (spec)
    if (const auto* a = spec->arg(name))
      for (const auto& c : a->choices) out.emplace_back(std::string(c.value), std::string(c.help));
  return out;
}

void read_options(const CLI::App& app, const command_spec* spec, std::vector<option>& options,
                  std::vector<positional>* positionals) {
  for (const CLI::Option* o : app.get_options()) {
    if (o->get_positional()) {
      if (!positionals) continue;
      positional p;
      p.name = o->get_name(true);
      p.help = o->get_description();
      p.required = o->get_required();
      p.value = kind_of(base_type(*o));
      p.choices = choices_of(spec, p.name);
      positionals->push_back(std::move(p));
      continue;
    }
    option x;
    for (const auto& n : o->get_lnames()) x.longs.push_back(n);
    for (const auto& n : o->get_snames()) x.shorts.push_back(n);
    x.help = o->get_description();
    x.required = o->get_required();
    if (o->get_expected_min() != 0) {  // flags expect no value
      x.value_name = base_type(*o);
      x.value = kind_of(x.value_name);
      x.default_value = o->get_default_str();
      if (!x.longs.empty()) x.choices = choices_of(spec, x.longs.front());
    }
    options.push_back(std::move(x));
  }
}

program omnisyncctl_model() {
  // The socket's default comes from OMNISYNC_SOCKET when it is set: the reference shows the built-in one.
  ::unsetenv("OMNISYNC_SOCKET");
  auto cli = omnisync::ctl::make_cli();
  program p{"omnisyncctl", cli->app.get_description(), {}, {}};
  read_options(cli->app, nullptr, p.options, nullptr);
  for (const auto& [sub, sc] : cli->added) {
    command c{sc->name, sc->description, {}, {}, sc->spec};
    read_options(*sub, sc->spec, c.options, &c.positionals);
    p.commands.push_back(std::move(c));
  }
  return p;
}

program omnisyncd_model() {
  CLI::App app{omnisync::app::description};
  omnisync::app::command_line flags;
  omnisync::app::add_command_line(app, flags);
  program p{"omnisyncd", app.get_description(), {}, {}};
  read_options(app, nullptr, p.options, nullptr);
  return p;
}

// ---- helpers --------------------------------------------------------------------------------------------------

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

std::vector<std::string> spellings(const option& o) {
  std::vector<std::string> out;
  for (const auto& s : o.shorts) out.push_back("-" + s);
  for (const auto& l : o.longs) out.push_back("--" + l);
  return out;
}

/// A shell word in single quotes.
std::string sq(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

/// Text for a zsh _arguments description in [...] (brackets and colons escaped).
std::string zsh_desc(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '[' || c == ']' || c == ':' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

/// Markdown text safe for pandoc (characters that would start emphasis, links or HTML escaped).
std::string md(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '*' || c == '_' || c == '[' || c == ']' || c == '<' || c == '>' || c == '\\' || c == '#')
      out += '\\';
    out += c;
  }
  return out;
}

std::string capitalised_sentence(std::string s) {
  if (!s.empty() && s.back() != '.') s += '.';
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = char(s[0] - 'a' + 'A');
  return s;
}

// ---- bash -----------------------------------------------------------------------------------------------------

std::string bash_value_completion(value_kind k, const std::vector<std::pair<std::string, std::string>>& choices) {
  if (!choices.empty()) {
    std::vector<std::string> v;
    for (const auto& c : choices) v.push_back(c.first);
    return "COMPREPLY=($(compgen -W " + sq(join(v, " ")) + " -- \"$cur\"))";
  }
  switch (k) {
    case value_kind::file: return "compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- \"$cur\"))";
    case value_kind::dir: return "compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- \"$cur\"))";
    default: return "COMPREPLY=()";
  }
}

/// `case` patterns: every spelling of the options of `opts` that take a value.
std::string bash_valued(const std::vector<option>& opts, const std::string& prefix = "") {
  std::vector<std::string> v;
  for (const auto& o : opts)
    if (o.value != value_kind::none)
      for (const auto& s : spellings(o)) v.push_back(prefix + s);
  return join(v, "|");
}

std::string bash(const program& p) {
  std::ostringstream o;
  const std::string fn = "_" + p.name;
  o << "# bash completion for " << p.name << ". Generated at build time from " << p.name
    << "'s command line (packaging/cli_reference.cpp); do not edit.\n";
  o << fn << "() {\n";
  o << "  local cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"\" cmd=\"\" npos=0 i w\n";
  o << "  (( COMP_CWORD > 0 )) && prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n";
  o << "  COMPREPLY=()\n";
  std::vector<std::string> all_global;
  for (const auto& x : p.options)
    for (const auto& s : spellings(x)) all_global.push_back(s);
  if (p.commands.empty()) {
    o << "  case \"$prev\" in\n";
    for (const auto& x : p.options)
      if (x.value != value_kind::none)
        o << "    " << join(spellings(x), "|") << ") " << bash_value_completion(x.value, x.choices) << "; return ;;\n";
    o << "  esac\n";
    o << "  COMPREPLY=($(compgen -W " << sq(join(all_global, " ")) << " -- \"$cur\"))\n";
    o << "}\ncomplete -F " << fn << " " << p.name << "\n";
    return o.str();
  }
  // Find the command word (options before it are the program's own) and count the positionals after it.
  const std::string global_valued = bash_valued(p.options);
  o << "  for (( i = 1; i < COMP_CWORD; i++ )); do\n";
  o << "    w=\"${COMP_WORDS[i]}\"\n";
  o << "    if [[ -z \"$cmd\" ]]; then\n";
  o << "      case \"$w\" in\n";
  if (!global_valued.empty()) o << "        " << global_valued << ") (( i++ )) ;;\n";
  o << "        -*) ;;\n";
  o << "        *) cmd=\"$w\" ;;\n";
  o << "      esac\n";
  o << "    else\n";
  o << "      case \"$cmd $w\" in\n";
  for (const auto& c : p.commands) {
    std::vector<std::string> pats;
    for (const auto& x : c.options)
      if (x.value != value_kind::none)
        for (const auto& s : spellings(x)) pats.push_back(sq(c.name + " " + s));
    if (!pats.empty()) o << "        " << join(pats, "|") << ") (( i++ )) ;;\n";
  }
  o << "        *\" -\"*) ;;\n";
  o << "        *) (( npos++ )) ;;\n";
  o << "      esac\n";
  o << "    fi\n";
  o << "  done\n";
  // No command yet: the program's options, their values, or the command names.
  o << "  if [[ -z \"$cmd\" ]]; then\n";
  o << "    case \"$prev\" in\n";
  for (const auto& x : p.options)
    if (x.value != value_kind::none)
      o << "      " << join(spellings(x), "|") << ") " << bash_value_completion(x.value, x.choices) << "; return ;;\n";
  o << "    esac\n";
  std::vector<std::string> names;
  for (const auto& c : p.commands) names.push_back(c.name);
  o << "    if [[ \"$cur\" == -* ]]; then COMPREPLY=($(compgen -W " << sq(join(all_global, " "))
    << " -- \"$cur\")); else COMPREPLY=($(compgen -W " << sq(join(names, " ")) << " -- \"$cur\")); fi\n";
  o << "    return\n";
  o << "  fi\n";
  o << "  case \"$cmd\" in\n";
  for (const auto& c : p.commands) {
    o << "    " << c.name << ")\n";
    o << "      case \"$prev\" in\n";
    for (const auto& x : c.options)
      if (x.value != value_kind::none)
        o << "        " << join(spellings(x), "|") << ") " << bash_value_completion(x.value, x.choices)
          << "; return ;;\n";
    o << "      esac\n";
    std::vector<std::string> opts;
    for (const auto& x : c.options)
      for (const auto& s : spellings(x)) opts.push_back(s);
    o << "      if [[ \"$cur\" == -* ]]; then COMPREPLY=($(compgen -W " << sq(join(opts, " ")) << " -- \"$cur\")); return; fi\n";
    o << "      case $npos in\n";
    for (std::size_t i = 0; i < c.positionals.size(); ++i) {
      const auto& pos = c.positionals[i];
      if (pos.choices.empty() && pos.value == value_kind::text) continue;
      o << "        " << i << ") " << bash_value_completion(pos.value, pos.choices) << " ;;\n";
    }
    o << "      esac\n";
    o << "      ;;\n";
  }
  o << "  esac\n";
  o << "}\n";
  o << "complete -F " << fn << " " << p.name << "\n";
  return o.str();
}

// ---- zsh ------------------------------------------------------------------------------------------------------

std::string zsh_action(value_kind k, const std::vector<std::pair<std::string, std::string>>& choices) {
  if (!choices.empty()) {
    std::vector<std::string> v;
    for (const auto& c : choices) v.push_back(c.first);
    return "(" + join(v, " ") + ")";
  }
  switch (k) {
    case value_kind::file: return "_files";
    case value_kind::dir: return "_files -/";
    default: return "";
  }
}

std::vector<std::string> zsh_specs(const std::vector<option>& opts) {
  std::vector<std::string> out;
  for (const auto& x : opts) {
    const auto names = spellings(x);
    std::string spec;
    std::string exclusion = "(" + join(names, " ") + ")";
    if (x.longs.size() == 1 && x.longs.front() == "help") exclusion = "(- *)";
    if (x.longs.size() == 1 && x.longs.front() == "version") exclusion = "(- *)";
    const std::string tail = "[" + zsh_desc(x.help) + "]" +
                             (x.value == value_kind::none
                                  ? std::string()
                                  : ":" + zsh_desc(x.value_name.empty() ? "value" : x.value_name) + ":" +
                                        zsh_action(x.value, x.choices));
    if (names.size() == 1) {
      spec = sq(exclusion + names.front() + tail);
    } else {
      spec = sq(exclusion) + "{" + join(names, ",") + "}" + sq(tail);
    }
    out.push_back(spec);
  }
  return out;
}

std::string zsh(const program& p) {
  std::ostringstream o;
  o << "#compdef " << p.name << "\n";
  o << "# zsh completion for " << p.name << ". Generated at build time from " << p.name
    << "'s command line (packaging/cli_reference.cpp); do not edit.\n";
  o << "_" << p.name << "() {\n";
  o << "  local curcontext=\"$curcontext\" state line ret=1\n";
  o << "  typeset -A opt_args\n";
  o << "  _arguments -C -s";
  for (const auto& s : zsh_specs(p.options)) o << " \\\n    " << s;
  if (p.commands.empty()) {
    o << " && ret=0\n  return ret\n}\n";
    o << "_" << p.name << " \"$@\"\n";
    return o.str();
  }
  o << " \\\n    '1: :->command' \\\n    '*:: :->args' && ret=0\n";
  o << "  case $state in\n";
  o << "    command)\n";
  o << "      local -a commands=(\n";
  for (const auto& c : p.commands) o << "        " << sq(c.name + ":" + c.help) << "\n";
  o << "      )\n";
  o << "      _describe -t commands '" << p.name << " command' commands && ret=0\n";
  o << "      ;;\n";
  o << "    args)\n";
  o << "      case $line[1] in\n";
  for (const auto& c : p.commands) {
    o << "        " << c.name << ")\n";
    o << "          _arguments -s";
    for (const auto& s : zsh_specs(c.options)) o << " \\\n            " << s;
    for (std::size_t i = 0; i < c.positionals.size(); ++i) {
      const auto& pos = c.positionals[i];
      o << " \\\n            "
        << sq(std::to_string(i + 1) + ":" + zsh_desc(pos.name) + ":" + zsh_action(pos.value, pos.choices));
    }
    o << " && ret=0\n          ;;\n";
  }
  o << "      esac\n";
  o << "      ;;\n";
  o << "  esac\n";
  o << "  return ret\n";
  o << "}\n";
  o << "_" << p.name << " \"$@\"\n";
  return o.str();
}

// ---- fish -----------------------------------------------------------------------------------------------------

std::string fish_option(const std::string& prog, const std::string& cond, const option& x) {
  std::string line = "complete -c " + prog;
  if (!cond.empty()) line += " -n " + sq(cond);
  for (const auto& s : x.shorts) line += " -s " + s;
  for (const auto& l : x.longs) line += " -l " + l;
  if (x.value != value_kind::none) {
    if (!x.choices.empty()) {
      std::vector<std::string> v;
      for (const auto& c : x.choices) v.push_back(c.first);
      line += " -x -a " + sq(join(v, " "));
    } else if (x.value == value_kind::file) {
      line += " -r -F";
    } else if (x.value == value_kind::dir) {
      line += " -x -a '(__fish_complete_directories)'";
    } else {
      line += " -x";
    }
  }
  return line + " -d " + sq(x.help) + "\n";
}

std::string fish(const program& p) {
  std::ostringstream o;
  o << "# fish completion for " << p.name << ". Generated at build time from " << p.name
    << "'s command line (packaging/cli_reference.cpp); do not edit.\n";
  o << "complete -c " << p.name << " -f\n";
  if (p.commands.empty()) {
    for (const auto& x : p.options) o << fish_option(p.name, "", x);
    return o.str();
  }
  for (const auto& x : p.options) o << fish_option(p.name, "__fish_use_subcommand", x);
  for (const auto& c : p.commands)
    o << "complete -c " << p.name << " -n __fish_use_subcommand -a " << c.name << " -d " << sq(c.help) << "\n";
  for (const auto& c : p.commands) {
    const std::string in = "__fish_seen_subcommand_from " + c.name;
    for (const auto& x : c.options) o << fish_option(p.name, in, x);
    // The first positional's values, while none of them is given yet.
    if (!c.positionals.empty()) {
      const auto& pos = c.positionals.front();
      if (!pos.choices.empty()) {
        std::vector<std::string> v;
        for (const auto& ch : pos.choices) v.push_back(ch.first);
        const std::string cond = in + "; and not __fish_seen_subcommand_from " + join(v, " ");
        for (const auto& ch : pos.choices)
          o << "complete -c " << p.name << " -n " << sq(cond) << " -a " << ch.first << " -d " << sq(ch.second) << "\n";
      } else if (pos.value == value_kind::file) {
        o << "complete -c " << p.name << " -n " << sq(in) << " -F\n";
      }
    }
  }
  return o.str();
}

// ---- man page fragments (pandoc Markdown) ---------------------------------------------------------------------

std::string md_options(const std::vector<option>& opts) {
  std::ostringstream o;
  for (const auto& x : opts) {
    std::vector<std::string> names;
    for (const auto& s : spellings(x)) names.push_back("**" + md(s) + "**");
    o << join(names, ", ");
    if (x.value != value_kind::none) o << " *" << md(x.value_name.empty() ? "VALUE" : x.value_name) << "*";
    o << "\n:   " << md(capitalised_sentence(x.help));
    if (!x.default_value.empty()) o << " Default: **" << md(x.default_value) << "**.";
    if (!x.choices.empty()) {
      std::vector<std::string> v;
      for (const auto& c : x.choices) v.push_back("**" + md(c.first) + "**");
      o << " One of " << join(v, ", ") << ".";
    }
    o << "\n\n";
  }
  return o.str();
}

std::string usage(const program& p, const command& c) {
  std::string u = "**" + p.name + "** [*options*] **" + md(c.name) + "**";
  for (const auto& x : c.options) {
    if (x.longs.size() == 1 && x.longs.front() == "help") continue;
    const std::string one =
        "**" + md(spellings(x).back()) + "**" + (x.value == value_kind::none ? "" : " *" + md(x.value_name) + "*");
    u += x.required ? " " + one : " [" + one + "]";
  }
  for (const auto& pos : c.positionals) {
    std::string n = "*" + md(pos.name) + "*";
    if (!pos.choices.empty()) {
      std::vector<std::string> v;
      for (const auto& ch : pos.choices) v.push_back("**" + md(ch.first) + "**");
      n = join(v, "\\|");
    }
    u += pos.required ? " " + n : " [" + n + "]";
  }
  return u;
}

std::string md_commands(const program& p) {
  std::ostringstream o;
  for (const auto& c : p.commands) {
    o << "## " << md(c.name) << "\n\n";
    o << usage(p, c) << "\n\n";
    o << md(capitalised_sentence(c.help));
    if (c.spec)
      o << (c.spec->scope == omnisync::control::access::write ? " Changes the daemon's state (write scope)."
                                                              : " Reads only (read scope).");
    else
      o << " Runs locally; needs no daemon.";
    o << "\n\n";
    for (const auto& pos : c.positionals) {
      o << "*" << md(pos.name) << "*\n:   " << md(capitalised_sentence(pos.help));
      if (c.spec)
        if (const auto* a = c.spec->arg(pos.name); a && !a->default_value.empty())
          o << " Default: " << md(std::string(a->default_value)) << ".";
      o << "\n";
      for (const auto& ch : pos.choices) o << "\n    **" << md(ch.first) << "**: " << md(ch.second) << ".\n";
      o << "\n";
    }
    std::vector<option> opts;
    for (const auto& x : c.options)
      if (!(x.longs.size() == 1 && x.longs.front() == "help")) opts.push_back(x);
    o << md_options(opts);
    if (c.spec) {
      o << "Result (**--json**): `" << std::string(c.spec->result) << "`.";
      if (!c.spec->events.empty()) o << " Progress events: `" << std::string(c.spec->events) << "`.";
      o << "\n\n";
    }
  }
  return o.str();
}

void write(const fs::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) {
    std::cerr << "omnisync-cli-reference: cannot write " << file << "\n";
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: omnisync-cli-reference OUTDIR\n";
    return 2;
  }
  const fs::path dir = argv[1];
  fs::create_directories(dir);
  for (const auto& p : {omnisyncctl_model(), omnisyncd_model()}) {
    write(dir / (p.name + ".bash"), bash(p));
    write(dir / ("_" + p.name), zsh(p));
    write(dir / (p.name + ".fish"), fish(p));
    write(dir / (p.name + ".options.md"), md_options(p.options));
    if (!p.commands.empty()) write(dir / (p.name + ".commands.md"), md_commands(p));
  }
  return 0;
}
