// Compile-time budgets (issue 13). LLVM's pipeline has passes whose time grows faster than
// the function they run on: a giant straight-line block (what full unrolling of many small
// loops, or a generated initializer, makes) takes the SLP vectorizer and dead-store
// elimination quadratic time; a switch with thousands of cases does the same to the lazy
// value analysis of correlated-value propagation and jump threading; the instruction
// selector's DAG combiner is superlinear in the size of a block, and the greedy register
// allocator's region splitting in the number of blocks (thousands of `try_table`s). A module
// of a few kilobytes could keep a core busy for minutes. Functions over a budget skip those
// passes (wasm input was optimized by its producer; the rest of the pipeline still runs), and
// functions with a block over a budget, or too many blocks, get LLVM's fast instruction
// selector. Both decisions depend only on the IR, so the output stays the same for any
// thread count.

#include "budget.h"

#include "llvm/Analysis/LoopInfo.h"
#include "llvm/IR/Function.h"
#include "llvm/IR/CFG.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/IR/Instructions.h"

#include <algorithm>
#include <memory>

using namespace llvm;

namespace {

// Passes whose time grows faster than the function on one run: with the size of the largest
// block (vectorizing and removing stores in straight-line code) or with the number of
// switch cases (lazy value analysis).
bool growsWithBlocks(StringRef Pass) {
  return Pass == "SLPVectorizerPass" || Pass == "DSEPass" || Pass == "MemCpyOptPass";
}

bool growsWithFunctions(StringRef Pass) {
  return growsWithBlocks(Pass) || Pass == "CorrelatedValuePropagationPass" ||
         Pass == "JumpThreadingPass" || Pass == "LoopVectorizePass" || Pass == "GVNPass";
}

// Loop passes that run once per loop and each time take time proportional to the whole
// function (scalar evolution's invalidation), or make it grow (unrolling): many loops in a
// big function are quadratic.
bool isPerLoopLinear(StringRef Pass) {
  return Pass == "IndVarSimplifyPass" || Pass == "LoopIdiomRecognizePass" ||
         Pass == "LoopDeletionPass" || Pass == "SimpleLoopUnswitchPass" ||
         Pass == "LoopInstSimplifyPass" || Pass == "LoopSimplifyCFGPass" ||
         Pass == "LoopRotatePass" || Pass == "LoopFullUnrollPass" || Pass == "LoopUnrollPass";
}

const Function *functionOf(Any IR) {
  if (const Function *const *F = any_cast<const Function *>(&IR))
    return *F;
  if (const Loop *const *L = any_cast<const Loop *>(&IR))
    return (*L)->getHeader()->getParent();
  return nullptr;
}

// Instructions, and each case of a switch as one more: what these passes' time grows with.
// Loops are counted by their back edges in block order, which is how the translator lays
// them out (a proxy, cheap enough to take before every pass).
struct Size {
  unsigned Instructions = 0;
  unsigned LargestBlock = 0;
  unsigned Loops = 0;
};

Size sizeOf(const Function &F) {
  Size S;
  DenseMap<const BasicBlock *, unsigned> Order;
  for (const BasicBlock &BB : F)
    Order[&BB] = Order.size();
  for (const BasicBlock &BB : F) {
    S.Instructions += BB.size();
    S.LargestBlock = std::max<unsigned>(S.LargestBlock, BB.size());
    const Instruction *Terminator = BB.getTerminator();
    if (!Terminator)
      continue;
    if (const auto *Switch = dyn_cast<SwitchInst>(Terminator))
      S.Instructions += Switch->getNumCases();
    for (const BasicBlock *Successor : successors(&BB))
      if (Order.lookup(Successor) <= Order.lookup(&BB))
        S.Loops++;
  }
  return S;
}

} // namespace

void waot::limitSuperlinearPasses(PassInstrumentationCallbacks &PIC, unsigned Budget,
                                  unsigned BlockBudget) {
  // A function's size is measured when a listed pass asks and a function pass has run on it
  // since the last measurement; loop passes, which run inside one (a loop pass adaptor),
  // share the size measured at their first.
  struct Measured {
    Size S;
    bool Stale = true;
  };
  auto Sizes = std::make_shared<DenseMap<const Function *, Measured>>();
  PIC.registerShouldRunOptionalPassCallback([=](StringRef Pass, Any IR) {
    if (const Function *const *F = any_cast<const Function *>(&IR))
      (*Sizes)[*F].Stale = true;
    bool PerLoop = isPerLoopLinear(Pass), PerFunction = growsWithFunctions(Pass);
    if (!PerLoop && !PerFunction)
      return true;
    const Function *F = functionOf(IR);
    if (!F)
      return true;
    Measured &M = (*Sizes)[F];
    if (M.Stale)
      M = {sizeOf(*F), false};
    const Size &S = M.S;
    if (PerLoop && uint64_t(S.Instructions) * S.Loops > uint64_t(Budget) * 100)
      return false;
    if (PerFunction && S.Instructions > Budget)
      return false;
    return !(growsWithBlocks(Pass) && BlockBudget && S.LargestBlock > BlockBudget);
  });
}

// Splits `BB` into blocks of about `Chunk` instructions each: the instruction selector works
// a block at a time, and even the fast one hands what it cannot select (vector operations)
// to the DAG builder for the rest of the block. Only for `optnone` functions, where
// CodeGenPrepare, which would merge the blocks again, does not run.
static void splitBlock(BasicBlock &BB, unsigned Chunk) {
  BasicBlock *Current = &BB;
  unsigned Count = 0;
  for (auto It = Current->getFirstNonPHIOrDbgOrAlloca(); It != Current->end();) {
    Instruction &I = *It++;
    // Never between a `musttail` call and its return, nor before a terminator or EH pad.
    const auto *Call = dyn_cast<CallInst>(&I);
    if (++Count < Chunk || I.isTerminator() || It == Current->end() || It->isTerminator() ||
        It->isEHPad() || isa<PHINode>(*It) || (Call && Call->isMustTailCall()))
      continue;
    Current = Current->splitBasicBlock(It, Current->getName() + ".chunk");
    It = Current->begin();
    Count = 0;
  }
}

void waot::limitInstructionSelection(Module &M, unsigned BlockBudget, unsigned BlocksBudget) {
  for (Function &F : M) {
    if (F.isDeclaration() || F.hasOptNone())
      continue;
    bool Huge = BlocksBudget && F.size() > BlocksBudget;
    SmallVector<BasicBlock *, 4> HugeBlocks;
    for (BasicBlock &BB : F)
      if (BlockBudget && BB.size() > BlockBudget)
        HugeBlocks.push_back(&BB);
    if (!Huge && HugeBlocks.empty())
      continue;
    F.removeFnAttr(Attribute::AlwaysInline);
    F.addFnAttr(Attribute::NoInline);
    F.addFnAttr(Attribute::OptimizeNone);
    for (BasicBlock *BB : HugeBlocks)
      splitBlock(*BB, 1000);
  }
}
