// LLVM's optimization pipeline with waot's own passes at its extension points. The C API
// (LLVMRunPasses) cannot add passes that use LLVM's analyses; this file is the only C++ in
// waot and holds only what needs them.

#include "llvm-c/Core.h"
#include "llvm-c/TargetMachine.h"
#include "llvm/Analysis/LoopInfo.h"
#include "llvm/Analysis/ScalarEvolution.h"
#include "llvm/IR/Instructions.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/PassManager.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Passes/StandardInstrumentations.h"
#include "llvm/Target/TargetMachine.h"

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
        SE.forgetValue(Z);
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

} // namespace

// Runs `passes` (e.g. "default<O2>") on `module` for `machine`, with waot's passes added.
// Returns null, or an error message to free with `LLVMDisposeMessage`.
extern "C" char *waot_optimize_module(LLVMModuleRef module, LLVMTargetMachineRef machine,
                                      const char *passes) {
  Module &M = *unwrap(module);
  TargetMachine *TM = reinterpret_cast<TargetMachine *>(machine);
  PipelineTuningOptions PTO;
  LoopAnalysisManager LAM;
  FunctionAnalysisManager FAM;
  CGSCCAnalysisManager CGAM;
  ModuleAnalysisManager MAM;
  // LLVM's own options (-print-after-all, -time-passes, ...) act through these.
  PassInstrumentationCallbacks PIC;
  StandardInstrumentations SI(M.getContext(), false);
  SI.registerCallbacks(PIC, &MAM);
  PassBuilder PB(TM, PTO, std::nullopt, &PIC);
  PB.registerModuleAnalyses(MAM);
  PB.registerCGSCCAnalyses(CGAM);
  PB.registerFunctionAnalyses(FAM);
  PB.registerLoopAnalyses(LAM);
  PB.crossRegisterProxies(LAM, FAM, CGAM, MAM);
  PB.registerPeepholeEPCallback([](FunctionPassManager &FPM, OptimizationLevel) {
    FPM.addPass(SignExtendNonNegativeIndices());
  });
  ModulePassManager MPM;
  if (Error E = PB.parsePassPipeline(MPM, passes)) {
    std::string Message = toString(std::move(E));
    return LLVMCreateMessage(Message.c_str());
  }
  MPM.run(M, MAM);
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
