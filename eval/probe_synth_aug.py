"""Does adding synthetic spins to the document head's training help on real pages? (EVAL.md)

    python eval/probe_synth_aug.py

200 UD train windows and one emulator spin of each join every training fold with a sample
weight (0, 0.25, 1.0); the real pages are judged out of fold as in eval.run_real.
"""
import sys, numpy as np, time
sys.path.insert(0,'.')
from eval import real, probe_fit as pf
from eval.corpora import load_docs, windows
from eval.spinner import spin
from eval.probe_features import cached
from eval.probe_sweep import judge
from unspin import probe
from scripts.train_probe import doc_features
pages=real.load(include_sources=True)
y=np.array([p.label for p in pages]); fold=np.array(real.folds(pages))
is_page=np.array([p.role=="page" for p in pages]); long_=np.array([not p.short for p in pages])
_,data=cached("fp32",pages=pages,layers=8)
X=pf.design(data["pooled"],(6,),data["prefixes"].tolist().index(128))
tr=windows(load_docs(("ewt","gum","pud"),split="train"),min_words=80,max_words=400)
rng=np.random.default_rng(1); tr=[tr[i] for i in rng.permutation(len(tr))[:200]]
fams=["function_words","thesaurus","tortured","mixed"]
texts=[d.text for d in tr]+[spin(d.text,fams[k%4],seed=k).text for k,d in enumerate(tr)]
ys=np.r_[np.zeros(len(tr)),np.ones(len(tr))]
enc=probe.encoder(6,"fp32")
t=time.time(); Xs=doc_features(enc,texts,6,128); print("synth feats",time.time()-t, file=sys.stderr)
np.save('eval/out/synth_X.npy',Xs); np.save('eval/out/synth_y.npy',ys)
for wgt in (0.0, 0.25, 1.0):
  for C in (0.02,):
    z=np.zeros(len(y))
    for f in np.unique(fold):
        trm=fold!=f
        if wgt>0:
            Xt=np.r_[X[trm],Xs]; yt=np.r_[y[trm],ys]
            sw=np.r_[np.ones(trm.sum()), np.full(len(ys),wgt)]
        else:
            Xt,yt,sw=X[trm],y[trm],None
        mean=Xt.mean(0); sc=Xt.std(0)+1e-6
        from sklearn.linear_model import LogisticRegression
        c=LogisticRegression(C=C,class_weight="balanced",max_iter=3000).fit((Xt-mean)/sc,yt,sample_weight=sw)
        z[fold==f]=c.decision_function((X[fold==f]-mean)/sc)
    print(wgt,C,{k:round(v,3) for k,v in judge(z,y,is_page,long_).items()})
