// Compile-time budgets: what keeps any input's compile time about linear in its size.
#pragma once

#include "llvm/IR/Module.h"
#include "llvm/IR/PassInstrumentation.h"

namespace waot {

// Skips the optimizer's superlinear passes on functions larger than `Budget` (instructions
// and switch cases, counted when the pass is about to run) or with a block larger than
// `BlockBudget`, and the loop passes that cost the whole function's size per loop where size
// times loops exceeds 100 times `Budget`.
void limitSuperlinearPasses(llvm::PassInstrumentationCallbacks &PIC, unsigned Budget,
                            unsigned BlockBudget);

// Marks functions with a basic block larger than `BlockBudget` instructions, or more than
// `BlocksBudget` blocks, for LLVM's fast code generation (`optnone` after optimization
// affects only code generation: fast instruction selection, no machine-level optimization).
void limitInstructionSelection(llvm::Module &M, unsigned BlockBudget, unsigned BlocksBudget);

} // namespace waot
