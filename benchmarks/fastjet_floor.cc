// The cost of the FastJet work per event when called from C++, without any Python binding:
// anti-kT R=0.8 on all visible particles, C/A + mMDT (fastjet-contrib SoftDrop) on the leading jet,
// and the 18 fastjet-contrib Nsubjettiness values.  Built and run by benchmarks/fastjet_floor.py.
#include <fastjet/ClusterSequence.hh>
#include <fastjet/contrib/Nsubjettiness.hh>
#include <fastjet/contrib/SoftDrop.hh>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <vector>

using namespace fastjet;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  if (argc != 3) { std::fprintf(stderr, "usage: %s counts.bin momenta.bin\n", argv[0]); return 2; }
  std::ifstream counts_file(argv[1], std::ios::binary), momenta_file(argv[2], std::ios::binary);
  std::vector<std::vector<PseudoJet>> events;
  long long count;
  while (counts_file.read(reinterpret_cast<char*>(&count), sizeof count)) {
    std::vector<double> p(4 * count);
    momenta_file.read(reinterpret_cast<char*>(p.data()), p.size() * sizeof(double));
    std::vector<PseudoJet> event;
    for (long long i = 0; i < count; ++i) event.emplace_back(p[4 * i], p[4 * i + 1], p[4 * i + 2], p[4 * i + 3]);
    events.push_back(event);
  }
  const JetDefinition antikt(antikt_algorithm, 0.8), cambridge(cambridge_algorithm, 0.8);
  const contrib::SoftDrop mmdt(0.0, 0.1, 0.8);
  double antikt_s = 0, softdrop_s = 0, nsub_s = 0, checksum = 0;
  for (const auto& event : events) {
    const auto t0 = Clock::now();
    ClusterSequence sequence(event, antikt);
    const auto jets = sorted_by_pt(sequence.inclusive_jets(200.0));
    const auto t1 = Clock::now();
    antikt_s += std::chrono::duration<double>(t1 - t0).count();
    if (jets.empty()) continue;
    ClusterSequence reclustered(jets[0].constituents(), cambridge);
    const PseudoJet jet = reclustered.exclusive_jets(1)[0];
    const PseudoJet groomed = mmdt(jet);
    const auto t2 = Clock::now();
    for (double beta : {0.5, 1.0, 2.0})
      for (int n = 1; n <= 3; ++n) {
        contrib::Nsubjettiness tau(n, contrib::WTA_KT_Axes(), contrib::NormalizedMeasure(beta, 0.8));
        checksum += tau(jet) + tau(groomed);
      }
    const auto t3 = Clock::now();
    softdrop_s += std::chrono::duration<double>(t2 - t1).count();
    nsub_s += std::chrono::duration<double>(t3 - t2).count();
    checksum += groomed.m();
  }
  const double n = events.size();
  std::printf("%zu events: anti-kT %.3f ms, C/A + SoftDrop %.3f ms, 18 Nsubjettiness %.3f ms per event (checksum %g)\n",
              events.size(), 1e3 * antikt_s / n, 1e3 * softdrop_s / n, 1e3 * nsub_s / n, checksum);
  return 0;
}
