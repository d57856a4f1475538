// LLVM's optimization pipeline with waot's own passes at its extension points. The C API
// (LLVMRunPasses) cannot add passes that use LLVM's analyses; this file, with emit.cpp and
// budget.cpp, is the only C++ in waot and holds only what needs them.

#include "budget.h"

#include "llvm-c/Core.h"
#include "llvm-c/TargetMachine.h"
#include "llvm/Analysis/ConstantFolding.h"
#include "llvm/Analysis/LoopInfo.h"
#include "llvm/IR/Dominators.h"
#include "llvm/Analysis/ScalarEvolution.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/InstIterator.h"
#include "llvm/IR/Instructions.h"
#include "llvm/IR/IntrinsicInst.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/PassManager.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Passes/StandardInstrumentations.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Transforms/Utils/PromoteMemToReg.h"

#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/SmallVector.h"

#include <chrono>
#include <cstring>
#include <string>

using namespace llvm;

namespace {

// Wasm addresses are `zext(i32 address)`. Inside loops the 32-bit value is often a counter
// plus an array's address whose sum scalar evolution proves non-negative (clang's wasm counts
// from a negative value up to 0). There `zext` equals `sext`, and with `sext` LLVM's
// induction-variable widening folds the address into one 64-bit recurrence, as it does for C's
// `int` indices; with `zext` it keeps a 32-bit wrap (an `and` per access) and cannot prove
// neighbouring accesses adjacent. Replacing one by the other where they are equal changes no
// value, so every address still names its byte in exactly one way.
struct SignExtendNonNegativeIndices : PassInfoMixin<SignExtendNonNegativeIndices> {
  PreservedAnalyses run(Function &F, FunctionAnalysisManager &AM) {
    LoopInfo &LI = AM.getResult<LoopAnalysis>(F);
    if (LI.empty())
      return PreservedAnalyses::all();
    ScalarEvolution &SE = AM.getResult<ScalarEvolutionAnalysis>(F);
    bool Changed = false;
    for (BasicBlock &BB : F) {
      if (!LI.getLoopFor(&BB))
        continue;
      for (Instruction &I : make_early_inc_range(BB)) {
        auto *Z = dyn_cast<ZExtInst>(&I);
        if (!Z || !Z->getSrcTy()->isIntegerTy(32) || !Z->getDestTy()->isIntegerTy(64))
          continue;
        Value *Op = Z->getOperand(0);
        if (!SE.isKnownNonNegative(SE.getSCEV(Op)))
          continue;
        auto *S = new SExtInst(Op, Z->getDestTy(), "", Z->getIterator());
        S->takeName(Z);
        // Scalar evolution's value handles forget what it derived from `Z` when its uses are
        // replaced (nothing, unless `Z` itself was analysed). An explicit `forgetValue` walked
        // every transitive user instead, whatever was cached: quadratic in a function of many
        // loops (28% of optimizing the adversarial inlined-kernels module).
        Z->replaceAllUsesWith(S);
        Z->eraseFromParent();
        Changed = true;
      }
    }
    if (!Changed)
      return PreservedAnalyses::all();
    PreservedAnalyses PA;
    PA.preserveSet<CFGAnalyses>();
    return PA;
  }
};

// Every function's entry compares the stack pointer with the store's stack limit (env.rs,
// `stack_exhausted`). Once the inliner has put a callee into its caller, the callee's compare
// reads the caller's stack pointer (the same frame) against the same limit, after the
// caller's own compare found it in bounds: it is false. Folding it lets LLVM delete its trap
// path and, with it, the stores (of the fuel, of globals) that the trap could have seen.
// Under a running function the limit only moves between the entry's limit and the maximum an
// interrupt raises it to: a folded check is one place fewer where an interrupt stops the
// guest, which the interrupt's signal does anyway. Interruptible code loads the limit
// atomically at each check, as a poll: those checks stay.
struct FoldDominatedStackChecks : PassInfoMixin<FoldDominatedStackChecks> {
  static bool isStackPointerRead(Value *V) {
    auto *Call = dyn_cast<IntrinsicInst>(V);
    return Call && Call->getIntrinsicID() == Intrinsic::read_register;
  }

  // The limit's address, when the limit is a plain load (not an interruptible poll).
  static Value *limitAddress(Value *Limit) {
    auto *L = dyn_cast<LoadInst>(Limit);
    return L && L->isSimple() ? L->getPointerOperand() : nullptr;
  }

  static bool isStackCheck(Instruction &I) {
    auto *C = dyn_cast<ICmpInst>(&I);
    return C && C->getPredicate() == ICmpInst::ICMP_ULT && isStackPointerRead(C->getOperand(0));
  }

  PreservedAnalyses run(Function &F, FunctionAnalysisManager &AM) {
    // The function's own check: the first compare of the stack pointer in its entry block.
    ICmpInst *Own = nullptr;
    for (Instruction &I : F.getEntryBlock())
      if (isStackCheck(I)) {
        Own = cast<ICmpInst>(&I);
        break;
      }
    Value *Address = Own ? limitAddress(Own->getOperand(1)) : nullptr;
    if (!Address)
      return PreservedAnalyses::all();
    SmallVector<ICmpInst *, 8> Others;
    for (Instruction &I : instructions(F))
      if (&I != Own && isStackCheck(I) && limitAddress(I.getOperand(1)) == Address)
        Others.push_back(cast<ICmpInst>(&I));
    if (Others.empty())
      return PreservedAnalyses::all();
    DominatorTree &DT = AM.getResult<DominatorTreeAnalysis>(F);
    bool Changed = false;
    for (ICmpInst *C : Others) {
      if (!DT.dominates(Own, C))
        continue;
      C->replaceAllUsesWith(ConstantInt::getFalse(C->getType()));
      C->eraseFromParent();
      Changed = true;
    }
    if (!Changed)
      return PreservedAnalyses::all();
    PreservedAnalyses PA;
    PA.preserveSet<CFGAnalyses>();
    return PA;
  }
};

// Wasm executes every load, and one out of bounds traps, even when nothing uses its value;
// LLVM deletes an unused load at every level (instruction selection drops it even at -O0).
// Wasm locals start as stack slots; a load stored only into a local that is never read again
// would look used. Promoting them to SSA values first leaves only real uses.
static void promoteLocals(Function &F) {
  SmallVector<AllocaInst *, 32> Allocas;
  for (Instruction &I : F.getEntryBlock())
    if (auto *AI = dyn_cast<AllocaInst>(&I))
      if (isAllocaPromotable(AI))
        Allocas.push_back(AI);
  if (Allocas.empty())
    return;
  DominatorTree DT(F);
  PromoteMemToReg(Allocas, DT);
}

// Before optimizing, every linear-memory load (marked `waot.memory` by the translator) whose
// value reaches no effect — a store, a call, a branch, a return — becomes volatile, so it is
// executed and can trap. A load whose value is used is left alone: volatility would forbid
// the optimizations that matter. (A load that becomes unused only after optimization, such as
// one multiplied by 0 or a lane never extracted, can still be deleted; see ARCHITECTURE.md,
// "Known limitations".) At -O0, where nothing is optimized, every such load is volatile: the
// instruction selector deletes loads whose value it folds away.
static void keepUnusedMemoryLoads(Function &F, unsigned MemoryKind, bool Every) {
  if (Every) {
    for (Instruction &I : instructions(F))
      if (auto *L = dyn_cast<LoadInst>(&I))
        if (L->getMetadata(MemoryKind))
          L->setVolatile(true);
    return;
  }
  promoteLocals(F);
  SmallPtrSet<Instruction *, 32> Live;
  SmallVector<Instruction *, 64> Work;
  for (Instruction &I : instructions(F))
    if (I.isTerminator() || I.mayHaveSideEffects() || I.isEHPad())
      if (Live.insert(&I).second)
        Work.push_back(&I);
  while (!Work.empty()) {
    Instruction *I = Work.pop_back_val();
    for (Value *Op : I->operands())
      if (auto *OpI = dyn_cast<Instruction>(Op))
        if (Live.insert(OpI).second)
          Work.push_back(OpI);
  }
  for (Instruction &I : instructions(F))
    if (auto *L = dyn_cast<LoadInst>(&I))
      if (!L->isVolatile() && L->getMetadata(MemoryKind) && !Live.count(L))
        L->setVolatile(true);
}

// The IR builder folds constants without the data layout, so a v128 constant used at another
// lane shape stays a constant expression such as `bitcast (<2 x i64> ...) to <4 x i32>`.
// Folded with the data layout, it becomes a plain vector. At -O0 nothing else folds them, and
// LLVM 19's instruction selector loops forever on some operations of such expressions (a
// vector compare of two of them, sign-extended and passed to fabs, found by the fuzzer).
static void foldConstantExpressions(Function &F, const DataLayout &DL) {
  for (Instruction &I : instructions(F))
    for (Use &U : I.operands())
      if (auto *CE = dyn_cast<ConstantExpr>(U.get()))
        if (Constant *Folded = ConstantFoldConstant(CE, DL); Folded && Folded != CE)
          U.set(Folded);
}

} // namespace

// Called with a function's name and the seconds the optimizer spent on it.
typedef void (*WaotFunctionTime)(void *ctx, const char *name, size_t len, double seconds);

// Runs `passes` (e.g. "default<O2>") on `module` for `machine`, with waot's passes added;
// `keepEveryLoad` makes every linear-memory load volatile (for -O0). `passBudget`,
// `blockBudget` and `blocksBudget` are the compile-time budgets of `budget.h` (0: none).
// `report` gets the time of the function passes run on each function (module and call-graph
// passes, the inliner among them, are no function's). Returns null, or an error message to free with
// `LLVMDisposeMessage`.
extern "C" char *waot_optimize_module(LLVMModuleRef module, LLVMTargetMachineRef machine,
                                      const char *passes, bool keepEveryLoad,
                                      unsigned passBudget, unsigned blockBudget,
                                      unsigned blocksBudget,
                                      WaotFunctionTime report, void *ctx) {
  Module &M = *unwrap(module);
  TargetMachine *TM = reinterpret_cast<TargetMachine *>(machine);
  unsigned MemoryKind = M.getContext().getMDKindID("waot.memory");
  for (Function &F : M)
    if (!F.isDeclaration()) {
      foldConstantExpressions(F, M.getDataLayout());
      keepUnusedMemoryLoads(F, MemoryKind, keepEveryLoad);
    }
  PipelineTuningOptions PTO;
  LoopAnalysisManager LAM;
  FunctionAnalysisManager FAM;
  CGSCCAnalysisManager CGAM;
  ModuleAnalysisManager MAM;
  // LLVM's own options (-print-after-all, -time-passes, ...) act through these.
  PassInstrumentationCallbacks PIC;
  StandardInstrumentations SI(M.getContext(), false);
  SI.registerCallbacks(PIC, &MAM);
  // Only the outermost function-level pass is timed: pass managers and adaptors nest.
  using Clock = std::chrono::steady_clock;
  DenseMap<const Function *, double> Seconds;
  unsigned Depth = 0;
  Clock::time_point Started;
  PIC.registerBeforeNonSkippedPassCallback([&](StringRef, Any IR) {
    if (!any_cast<const Function *>(&IR))
      return;
    if (Depth++ == 0)
      Started = Clock::now();
  });
  auto After = [&](StringRef, Any IR) {
    const Function *const *F = any_cast<const Function *>(&IR);
    if (!F || Depth == 0)
      return;
    if (--Depth == 0)
      Seconds[*F] += std::chrono::duration<double>(Clock::now() - Started).count();
  };
  PIC.registerAfterPassCallback(
      [&](StringRef P, Any IR, const PreservedAnalyses &) { After(P, IR); });
  PIC.registerAfterPassInvalidatedCallback([&](StringRef, const PreservedAnalyses &) {
    // The IR unit is gone (a function deleted): its time counts for nobody.
    if (Depth > 0 && --Depth == 0)
      Started = Clock::now();
  });
  if (passBudget)
    waot::limitSuperlinearPasses(PIC, passBudget, blockBudget);
  PassBuilder PB(TM, PTO, std::nullopt, &PIC);
  PB.registerModuleAnalyses(MAM);
  PB.registerCGSCCAnalyses(CGAM);
  PB.registerFunctionAnalyses(FAM);
  PB.registerLoopAnalyses(LAM);
  PB.crossRegisterProxies(LAM, FAM, CGAM, MAM);
  PB.registerPeepholeEPCallback([](FunctionPassManager &FPM, OptimizationLevel) {
    FPM.addPass(SignExtendNonNegativeIndices());
    FPM.addPass(FoldDominatedStackChecks());
  });
  // By name, for pipelines written out in full.
  PB.registerPipelineParsingCallback(
      [](StringRef Name, FunctionPassManager &FPM, ArrayRef<PassBuilder::PipelineElement>) {
        if (Name != "waot-sext-indices")
          return false;
        FPM.addPass(SignExtendNonNegativeIndices());
        return true;
      });
  ModulePassManager MPM;
  if (Error E = PB.parsePassPipeline(MPM, passes)) {
    std::string Message = toString(std::move(E));
    return LLVMCreateMessage(Message.c_str());
  }
  MPM.run(M, MAM);
  if (blockBudget || blocksBudget)
    waot::limitInstructionSelection(M, blockBudget, blocksBudget);
  for (Function &F : M)
    if (auto It = Seconds.find(&F); It != Seconds.end())
      report(ctx, F.getName().data(), F.getName().size(), It->second);
  return nullptr;
}

// Every feature enabled for `machine`'s CPU and feature string, as "+a,+b,...": what its code
// may use. A CPU name implies features (x86-64-v4 implies avx512f) that the feature string
// does not list; the artifact's header records them all, so the loader can refuse code this
// CPU cannot run. Free the result with `LLVMDisposeMessage`.
extern "C" char *waot_enabled_features(LLVMTargetMachineRef machine) {
  TargetMachine *TM = reinterpret_cast<TargetMachine *>(machine);
  const MCSubtargetInfo *STI = TM->getMCSubtargetInfo();
  const FeatureBitset &Bits = STI->getFeatureBits();
  std::string Out;
  for (const SubtargetFeatureKV &KV : STI->getAllProcessorFeatures()) {
    if (!Bits.test(KV.Value))
      continue;
    if (!Out.empty())
      Out += ',';
    Out += '+';
    Out += KV.Key;
  }
  return LLVMCreateMessage(Out.c_str());
}
