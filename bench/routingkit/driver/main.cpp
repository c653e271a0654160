// RoutingKit's side of bench/routingkit.sh (see bench/README.md): loads the
// graph, node order and threat pictures that bench/routingkit exported from
// muster, builds RoutingKit's customizable contraction hierarchy with that
// same order, and times full customization and partial customization of the
// same pictures, in CPU time of the thread (the only one that works), one
// operation at a time as the Go program asks on stdin (see below), so that
// both sides' operations can be interleaved.
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
	if (argc != 3) {
		std::fprintf(stderr, "usage: %s graph.bin pictures.bin (then commands on stdin)\n", argv[0]);
		return 2;
	}
	try {
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
		std::fflush(stdout);

		std::vector<unsigned> w = weight;
		CustomizableContractionHierarchyMetric metric(cch, w);
		metric.customize();
		CustomizableContractionHierarchyPartialCustomization partial(cch);

		// Commands, one a line, so that the Go program can interleave each
		// operation with muster's:
		//   full          customize the free-flow weights from scratch
		//   partial T     apply transition T: its arcs' new weights, then a
		//                 partial customization
		//   check LABEL   print the metric's checksum
		char line[256];
		while (std::fgets(line, sizeof line, stdin)) {
			char cmd[32], arg[64] = "";
			if (std::sscanf(line, "%31s %63s", cmd, arg) < 1) continue;
			std::string c(cmd);
			if (c == "full") {
				w = weight;
				int64_t t0 = cpu_ns();
				metric.customize();
				std::printf("full %lld\n", (long long)(cpu_ns() - t0));
			} else if (c == "partial") {
				unsigned t = std::strtoul(arg, nullptr, 10);
				if (t >= pics.size()) throw std::runtime_error("no such transition");
				const Transition &tr = pics[t];
				for (size_t j = 0; j < tr.arcs.size(); ++j) w[tr.arcs[j]] = tr.weights[j];
				int64_t t0 = cpu_ns();
				for (unsigned a : tr.arcs) partial.update_arc(a);
				partial.customize(metric);
				std::printf("partial %u %lld\n", t, (long long)(cpu_ns() - t0));
			} else if (c == "check") {
				std::printf("check %s %llu\n", arg, (unsigned long long)checksum(cch, metric));
			} else if (c == "quit") {
				break;
			} else {
				throw std::runtime_error("unknown command " + c);
			}
			std::fflush(stdout);
		}
	} catch (const std::exception &e) {
		std::fprintf(stderr, "routingkit driver: %s\n", e.what());
		return 1;
	}
	return 0;
}
