#include "mapping/dry_run.hpp"

#include <simdjson.h>

#include <cstdio>
#include <cstring>
#include <iostream>

#include "mapping/canonical.hpp"
#include "mapping/mapping.hpp"

namespace omnisync::mapping {

namespace {
constexpr std::size_t k_chunk = 1 << 20;     // bytes read at a time
constexpr std::size_t k_out_flush = 1 << 20; // output buffer flushed at this size
}  // namespace

int run_map_command(const map_command_options& opts, std::ostream& out, std::ostream& err) {
  config::diagnostics diags;
  std::vector<config::attribute_decl> canonical =
      opts.config_file.empty() ? default_canonical_attributes() : read_canonical_attributes(opts.config_file, diags);
  std::shared_ptr<const plan> p;
  if (diags.empty()) p = load_mapping_file(opts.mapping, canonical, diags);
  if (!p) {
    err << diags.format();
    if (!diags.empty() && diags.format().back() != '\n') err << '\n';
    return 78;
  }
  std::FILE* in = stdin;
  if (!opts.input.empty()) {
    in = std::fopen(opts.input.c_str(), "rb");
    if (!in) {
      err << opts.input.string() << ": cannot open: " << std::strerror(errno) << '\n';
      return 66;
    }
  }
  evaluator ev(p);
  const std::size_t pad = evaluator::padding();
  // buf holds [0, used) bytes of input; lines are parsed in place (the parser reads up to `pad` bytes past a line).
  std::string buf(k_chunk + pad, '\0');
  std::size_t used = 0;
  std::string outbuf;
  outbuf.reserve(k_out_flush + 4096);
  std::uint64_t line_no = 0, failed = 0, bad = 0;
  record_error rerr;
  auto handle_line = [&](std::size_t begin, std::size_t end) {
    ++line_no;
    while (end > begin && (buf[end - 1] == '\r' || buf[end - 1] == ' ' || buf[end - 1] == '\t')) --end;
    std::size_t b = begin;
    while (b < end && (buf[b] == ' ' || buf[b] == '\t')) ++b;
    if (b == end) return;  // blank line
    const mapped_record* rec = ev.apply(buf.data() + b, end - b, buf.size() - b, rerr);
    if (!rec) {
      if (rerr.bad_input) {
        ++bad;
        err << "line " << line_no << ": bad input: " << rerr.rule << '\n';
      } else {
        ++failed;
        err << "line " << line_no << ": " << rerr.format() << '\n';
      }
      return;
    }
    rec->append_json(*p, outbuf);
    outbuf += '\n';
    if (outbuf.size() >= k_out_flush) {
      out.write(outbuf.data(), static_cast<std::streamsize>(outbuf.size()));
      outbuf.clear();
    }
  };
  bool eof = false;
  while (!eof) {
    if (used + k_chunk + pad > buf.size()) buf.resize(used + k_chunk + pad);  // a line longer than a chunk
    const std::size_t n = std::fread(buf.data() + used, 1, k_chunk, in);
    if (n == 0) eof = true;
    used += n;
    std::size_t start = 0;
    while (true) {
      auto* nl = static_cast<char*>(std::memchr(buf.data() + start, '\n', used - start));
      if (!nl) break;
      const std::size_t end = static_cast<std::size_t>(nl - buf.data());
      handle_line(start, end);
      start = end + 1;
    }
    if (eof && start < used) {
      handle_line(start, used);
      start = used;
    }
    std::memmove(buf.data(), buf.data() + start, used - start);
    used -= start;
    if (buf.size() > 4 * (k_chunk + pad) && used < k_chunk) buf.resize(k_chunk + pad), buf.shrink_to_fit();
  }
  const bool read_error = std::ferror(in) != 0;
  if (in != stdin) std::fclose(in);
  out.write(outbuf.data(), static_cast<std::streamsize>(outbuf.size()));
  out.flush();
  if (read_error) {
    err << "error reading the input\n";
    return 66;
  }
  if (failed || bad)
    err << (line_no - failed - bad) << " mapped, " << failed << " failed, " << bad << " not JSON records\n";
  if (bad) return 65;
  return failed ? 1 : 0;
}

int run_map_command(const map_command_options& opts) { return run_map_command(opts, std::cout, std::cerr); }

}  // namespace omnisync::mapping
