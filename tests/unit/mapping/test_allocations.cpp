// Checks the engine's claim that, after warm-up, mapping a record with a plain mapping does not allocate.
#include <atomic>
#include <cstdlib>
#include <new>

#include "helpers.hpp"

namespace {
std::atomic<long> g_allocations{0};
}

// Every form of new and delete is replaced, not only the plain ones. The standard's default nothrow and array forms
// call the plain ones, but AddressSanitizer intercepts each form on its own: a form left out would be allocated by
// ASan's operator new and freed here with std::free (an alloc-dealloc mismatch, e.g. Catch's `new (std::nothrow)`
// test invokers at exit), and would go uncounted.
namespace {
void* counted_malloc(std::size_t n) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n ? n : 1);
}
}  // namespace

void* operator new(std::size_t n) {
  if (void* p = counted_malloc(n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  if (void* p = counted_malloc(n)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return counted_malloc(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return counted_malloc(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

using namespace omnisync::mapping;

TEST_CASE("a warmed-up evaluator maps and serialises a record without allocating", "[mapping][evaluator]") {
  evaluator ev(testing::must_compile(
      testing::header() +
      "  email: { from: Email, transform: [trim, lower] }\n  first_name: FirstName\n  company: Account.Name\n"
      "  phone: { from: Phone, transform: [digits, { prepend: \"+\" }] }\n"
      "  lifecycle_stage: { from: Stage, map: { Lead: awareness, MQL: conversion }, default: unknown }\n"
      "  lead_score: { from: Score, default: 0 }\n  email_opt_in: { from: OptOut, transform: [not] }\n"
      "  external_ids.salesforce: Id\n"));
  const std::string rec =
      R"({"Id":"003000000000000001","FirstName":"Anna","Email":"  Anna.Kowalska1@Example.COM ","Phone":"(415) 555-0001",)"
      R"("Account":{"Name":"Acme 1"},"Stage":"MQL","Score":42.0,"OptOut":false,"Description":"xxxxxxxxxxxxxxxxxxxxxxxx"})";
  std::string padded = rec + std::string(evaluator::padding(), ' ');
  std::string out;
  out.reserve(4096);
  record_error err;
  err.file.reserve(64);
  for (int n = 0; n < 3; ++n) {  // warm-up: buffers grow to their working size
    const mapped_record* r = ev.apply(padded.data(), rec.size(), padded.size(), err);
    REQUIRE(r != nullptr);
    out.clear();
    r->append_json(ev.mapping_plan(), out);
  }
  const long before = g_allocations.load();
  for (int n = 0; n < 100; ++n) {
    const mapped_record* r = ev.apply(padded.data(), rec.size(), padded.size(), err);
    REQUIRE(r != nullptr);
    out.clear();
    r->append_json(ev.mapping_plan(), out);
  }
  CHECK(g_allocations.load() - before == 0);
  CHECK_THAT(out, Catch::Matchers::Contains(R"("email":"anna.kowalska1@example.com")"));
}
