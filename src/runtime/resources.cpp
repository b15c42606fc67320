#include "runtime/resources.hpp"

#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <ctime>

namespace fireflies {

namespace {
double status_field_mib(const char* field) noexcept {
    std::FILE* f = std::fopen("/proc/self/status", "r");
    if (!f) return 0;
    char line[256];
    double kib = 0;
    const std::size_t n = std::strlen(field);
    while (std::fgets(line, sizeof line, f))
        if (std::strncmp(line, field, n) == 0) {
            std::sscanf(line + n, " %lf", &kib);
            break;
        }
    std::fclose(f);
    return kib / 1024.0;
}
} // namespace

double peak_resident_mib() noexcept {
    return status_field_mib("VmHWM:");
}
double resident_mib() noexcept {
    return status_field_mib("VmRSS:");
}

double available_memory_bytes() noexcept {
    std::FILE* f = std::fopen("/proc/meminfo", "r");
    if (!f) return 0;
    char line[256];
    double kib = 0;
    while (std::fgets(line, sizeof line, f))
        if (std::sscanf(line, "MemAvailable: %lf kB", &kib) == 1) break;
    std::fclose(f);
    return kib * 1024.0;
}

node_map node_map::this_machine(int ranks) {
    char host[256] = "localhost";
    (void)::gethostname(host, sizeof host - 1);
    return node_map{
        std::vector<int>(static_cast<std::size_t>(ranks), 0), {host}, {available_memory_bytes()}};
}

std::string time_now_text(const char* format, bool utc) {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    if (utc)
        gmtime_r(&now, &tm);
    else
        localtime_r(&now, &tm);
    char text[64];
    return std::string(text, std::strftime(text, sizeof text, format, &tm));
}

void tight_timers() noexcept {
    (void)::prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL);
}

} // namespace fireflies
