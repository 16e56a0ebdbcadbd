#include "backend/batch.hpp"

namespace scout::backend {

int64_t batch_logit_rows(Batch batch) {
    int64_t n = 0;
    for (const SequenceStep& s : batch) n += s.all_logits ? static_cast<int64_t>(s.tokens.size()) : 1;
    return n;
}

int64_t batch_rows(Batch batch) {
    int64_t n = 0;
    for (const SequenceStep& s : batch) n += static_cast<int64_t>(s.tokens.size());
    return n;
}

}  // namespace scout::backend
