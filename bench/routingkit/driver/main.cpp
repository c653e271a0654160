// RoutingKit's side of bench/routingkit.sh (see bench/README.md): loads the
// graph, node order and threat pictures that bench/routingkit exported from
// muster, builds RoutingKit's customizable contraction hierarchy with that
// same order, and times full customization and partial customization of the
// same pictures, in CPU time of the thread (the only one that works). It prints one line per
// measurement for the Go program to read:
//   arcs <hierarchy arcs>
//   full <ns>                    one full customization
//   partial <transition> <ns>    one picture's partial customization
//   check <transition> <sum>     the metric after it (first pass only)
// Built by bench/routingkit.sh against RoutingKit's sources, which are not
// part of this repository (BSD-2-Clause).
#include <routingkit/customizable_contraction_hierarchy.h>
#include <routingkit/constants.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <stdexcept>
#include <string>
#include <vector>

using namespace RoutingKit;

namespace {

struct Reader {
	FILE *f;
	explicit Reader(const char *path) : f(std::fopen(path, "rb")) {
		if (!f) throw std::runtime_error(std::string("cannot open ") + path);
	}
	~Reader() { std::fclose(f); }
	uint32_t u32() {
		uint32_t v;
		if (std::fread(&v, 4, 1, f) != 1) throw std::runtime_error("file ends early");
		return v;
	}
	std::vector<unsigned> vec(size_t n) {
		std::vector<unsigned> v(n);
		if (n && std::fread(v.data(), 4, n, f) != n) throw std::runtime_error("file ends early");
		return v;
	}
	void magic(const char *want) {
		char got[4];
		if (std::fread(got, 1, 4, f) != 4 || std::string(got, 4) != want)
			throw std::runtime_error(std::string("not a ") + want + " file");
	}
};

struct Transition {
	std::vector<unsigned> arcs, weights;
};

int64_t cpu_ns() {
	timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// The same order-independent sum as bench/routingkit's checksum: per
// hierarchy arc, its ends (ranks) and both weights, Inf as 0xFFFFFFFF.
uint64_t checksum(const CustomizableContractionHierarchy &cch, const CustomizableContractionHierarchyMetric &m) {
	uint64_t sum = 0;
	for (unsigned i = 0; i < cch.cch_arc_count(); ++i) {
		uint64_t fw = m.forward[i] >= inf_weight ? 0xFFFFFFFFu : m.forward[i];
		uint64_t bw = m.backward[i] >= inf_weight ? 0xFFFFFFFFu : m.backward[i];
		uint64_t ends = (uint64_t(cch.up_tail[i]) << 32) | cch.up_head[i];
		sum += (ends * 0x9E3779B97F4A7C15ull) ^ (((fw << 32) | bw) * 0xC2B2AE3D27D4EB4Full);
	}
	return sum;
}

}  // namespace

int main(int argc, char **argv) {
	if (argc != 5) {
		std::fprintf(stderr, "usage: %s graph.bin pictures.bin full-customizations passes\n", argv[0]);
		return 2;
	}
	try {
		int full_reps = std::atoi(argv[3]), passes = std::atoi(argv[4]);
		std::vector<unsigned> tail, head, weight, order;
		{
			Reader r(argv[1]);
			r.magic("MRKG");
			unsigned n = r.u32(), m = r.u32();
			tail = r.vec(m);
			head = r.vec(m);
			weight = r.vec(m);
			order = r.vec(n);
		}
		std::vector<Transition> pics;
		{
			Reader r(argv[2]);
			r.magic("MRKP");
			unsigned count = r.u32();
			pics.resize(count);
			for (auto &t : pics) {
				unsigned k = r.u32();
				t.arcs = r.vec(k);
				t.weights = r.vec(k);
			}
		}
		if (pics.size() < 2) throw std::runtime_error("need at least one picture and the way back");

		CustomizableContractionHierarchy cch(order, tail, head);
		std::printf("arcs %u\n", cch.cch_arc_count());

		std::vector<unsigned> w = weight;
		CustomizableContractionHierarchyMetric metric(cch, w);
		metric.customize();
		for (int i = 0; i < full_reps; ++i) {
			int64_t t0 = cpu_ns();
			metric.customize();
			std::printf("full %lld\n", (long long)(cpu_ns() - t0));
		}
		std::printf("check base %llu\n", (unsigned long long)checksum(cch, metric));

		// Transition 0 leads from the base weights to the first picture
		// (not timed); then every pass goes through transitions 1..count-1,
		// the last one leading back to the first picture.
		CustomizableContractionHierarchyPartialCustomization partial(cch);
		auto apply = [&](unsigned t, bool timed, bool check) {
			const Transition &tr = pics[t];
			for (size_t j = 0; j < tr.arcs.size(); ++j) w[tr.arcs[j]] = tr.weights[j];
			int64_t t0 = cpu_ns();
			for (unsigned a : tr.arcs) partial.update_arc(a);
			partial.customize(metric);
			int64_t took = cpu_ns() - t0;
			if (timed) std::printf("partial %u %lld\n", t, (long long)took);
			if (check) std::printf("check %u %llu\n", t, (unsigned long long)checksum(cch, metric));
		};
		apply(0, false, true);
		for (int p = 0; p < passes; ++p)
			for (unsigned t = 1; t < pics.size(); ++t) apply(t, true, p == 0);
		std::fflush(stdout);
	} catch (const std::exception &e) {
		std::fprintf(stderr, "routingkit driver: %s\n", e.what());
		return 1;
	}
	return 0;
}
