"""Why full-catalogue HR@10 on the Taobao UserBehavior prefix is (near) 0 for any model.

Rebuilds `configs/taobao_implicit.toml`'s split from the raw file, with the rules of
src/data/loaders/interactions/ (one pair per (user, item), time = its earliest event,
ties by line; leave-last-out per user: last pair test, the one before valid), and reports:

- how many held-out buy items have no training pair at all (any user): their item id is
  untrained and popularity gives them 0, tied with every other such item;
- how many are in a category the user touched in training;
- full-catalogue HR@10 / MRR (candidates: all items less the user's training and other
  test items; ties count against the target, as in src/train/run/implicit.rs) of
  `popularity` (training pairs of any behaviour) and of the best history rule we know for
  this data: the number of the user's training pairs in the item's category, popularity
  breaking ties.

Usage: python3 reference/baselines/taobao_full_catalogue_floor.py [path/to/UserBehavior-prefix.csv]
Standard library only; about a minute.
"""
import collections
import sys

path = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/taobao-userbehavior/UserBehavior-prefix.csv"
pairs = {}
for line_no, line in enumerate(open(path)):
    f = line.strip().split(",")
    if len(f) != 5 or not f[4].isdigit():
        continue  # the file's last line is cut off (the preset skips it)
    user, item, cat, beh, t = f[0], f[1], f[2], f[3], int(f[4])
    p = pairs.setdefault((user, item), {"key": (t, line_no), "b": set(), "c": cat})
    p["b"].add(beh)
    p["key"] = min(p["key"], (t, line_no))

by_user = collections.defaultdict(list)
for (u, it), p in pairs.items():
    by_user[u].append((p["key"], it))
train, test = [], []
for u, lst in by_user.items():
    lst.sort()
    n = len(lst)
    for r, (_, it) in enumerate(lst):
        if n >= 2 and r == n - 1:
            test.append((u, it))
        elif n >= 3 and r == n - 2:
            pass  # valid
        else:
            train.append((u, it))

items = {it for (_, it) in pairs}
train_count = collections.Counter(it for _, it in train)
buys = [(u, it) for u, it in test if "buy" in pairs[(u, it)]["b"]]
cold = [x for x in buys if train_count[x[1]] == 0]
user_cat = collections.defaultdict(collections.Counter)
for u, it in train:
    user_cat[u][pairs[(u, it)]["c"]] += 1
in_cat = [(u, it) for u, it in buys if pairs[(u, it)]["c"] in user_cat[u]]
print(f"users {len(by_user)}, pairs {len(pairs)}, items {len(items)}, "
      f"items with no training pair {sum(1 for i in items if train_count[i] == 0)}")
print(f"held-out buys {len(buys)}: {len(cold)} with no training pair (any user); "
      f"the others have {sorted(train_count[it] for _, it in buys if train_count[it] > 0)} training pairs")
print(f"held-out buys in a category the user touched in training: {len(in_cat)}")

user_train = collections.defaultdict(set)
for u, it in train:
    user_train[u].add(it)
user_test = collections.defaultdict(set)
for u, it in test:
    user_test[u].add(it)
item_cat = {it: p["c"] for (_, it), p in pairs.items()}
all_items = list(items)


def full_ranking(score, label):
    hits, rr = 0, 0.0
    for u, t in buys:
        skip = user_train[u] | user_test[u]
        st = score(u, t)
        rank = 1 + sum(1 for j in all_items if j != t and j not in skip and score(u, j) >= st)
        hits += rank <= 10
        rr += 1 / rank
    print(f"{label:<40} HR@10 {hits / len(buys):.4f} ({hits} of {len(buys)})  MRR {rr / len(buys):.5f}")


full_ranking(lambda u, j: train_count[j], "popularity (training pairs)")
full_ranking(lambda u, j: user_cat[u][item_cat[j]] * 10**6 + train_count[j],
             "user's category counts, then popularity")
