#include "base/cpu_topology.hpp"

#include <algorithm>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <utility>

#if defined(__linux__)
#include <pthread.h>
#include <sched.h>
#endif

namespace scout {

namespace {

// The integer in a one-line sysfs file; -1 when it cannot be read.
int read_int_file(const std::string& path) {
    std::ifstream f(path);
    int v = -1;
    if (!(f >> v)) return -1;
    return v;
}

CpuTopology every_cpu_a_core() {
    CpuTopology t;
    t.logical_cpus = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    for (int i = 0; i < t.logical_cpus; ++i) t.core_cpus.push_back(i);
    return t;
}

}  // namespace

std::vector<int> first_cpu_of_each_core(std::span<const LogicalCpu> cpus) {
    std::vector<LogicalCpu> sorted(cpus.begin(), cpus.end());
    std::sort(sorted.begin(), sorted.end(), [](const LogicalCpu& a, const LogicalCpu& b) { return a.cpu < b.cpu; });
    std::set<std::pair<int, int>> seen;  // (package, core)
    std::vector<int> out;
    for (const LogicalCpu& c : sorted)
        if (seen.insert({c.package, c.core}).second) out.push_back(c.cpu);
    return out;
}

CpuTopology read_cpu_topology() {
#if defined(__linux__)
    cpu_set_t mask;
    CPU_ZERO(&mask);
    if (sched_getaffinity(0, sizeof(mask), &mask) != 0) return every_cpu_a_core();
    std::vector<LogicalCpu> cpus;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
        if (!CPU_ISSET(cpu, &mask)) continue;
        const std::string dir = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
        const int package = read_int_file(dir + "physical_package_id");
        const int core = read_int_file(dir + "core_id");
        if (package < 0 || core < 0) return every_cpu_a_core();  // no sysfs (some containers)
        cpus.push_back({cpu, package, core});
    }
    if (cpus.empty()) return every_cpu_a_core();
    CpuTopology t;
    t.logical_cpus = static_cast<int>(cpus.size());
    t.core_cpus = first_cpu_of_each_core(cpus);
    return t;
#else
    return every_cpu_a_core();
#endif
}

int physical_core_count() { return std::max(1, static_cast<int>(read_cpu_topology().core_cpus.size())); }

bool pin_current_thread(int cpu) {
#if defined(__linux__)
    if (cpu < 0 || cpu >= CPU_SETSIZE) return false;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof(set), &set) == 0;
#else
    (void)cpu;
    return false;
#endif
}

}  // namespace scout
