import json, os, random, sys
# python3 generate.py DIR writes DIR/archive.jsonl and DIR/queries.tsv (seeded: the same
# files each time); the posts and answers are in kinds.py beside it.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kinds import KINDS, NONE
random.seed(20240517)
VILS=["с. Волчиха","с. Берёзовка","с. Малиновка","с. Лебяжье","с. Солоновка","с. Вострово","с. Бор-Форпост","с. Усть-Волчиха","с. Селиверстово","пос. Правда","с. Новокормиха","с. Пятковка","с. Ново-Ключи","пос. Коминтерн"]
STS=["Ленина","Мира","Школьная","Садовая","Советская","Набережная","Молодёжная","Заречная","Новая","Центральная","Гагарина","Кирова","Партизанская","Степная","Луговая","Комсомольская","Пролетарская","Октябрьская"]
EXEC={"ЖКХ":"zhkh","Дороги":"roads","Транспорт":"roads","Образование":"edu","Здравоохранение":"health","Благоустройство":"zhkh","Безопасность":"gochs","Связь":"econ","Культура":"culture","Соцзащита":"social","ЧС":"gochs","Торговля":"econ","Спорт":"culture"}
entries=[]; by_kind={}
n=0
for ki,(kind,topic,phr,para,ans) in enumerate(KINDS):
    k = 4 if ki%3==0 else 3
    vils=random.sample(VILS,k)
    for j,v in enumerate(vils):
        n+=1
        st=random.choice(STS)
        vname=v.split(" ",1)[1]
        text=phr[j%len(phr)].format(st=st,vil=vname)
        y=random.choice([2023,2024,2025]); m=random.randint(1,12); d=random.randint(1,28)
        date=f"{y:04d}-{m:02d}-{d:02d}" if j%2==0 else f"{d:02d}.{m:02d}.{y:04d}"
        e={"id":f"A-{n:03d}","topic":topic,"location":f"{v}, ул. {st}" if "{st}" in phr[j%len(phr)] else v,"text":text,"answer":"Здравствуйте! "+ans.format(st=st,vil=vname)+" Спасибо за обращение.","date":date}
        if n%5: e["executor"]=EXEC.get(topic,"econ")
        entries.append(e); by_kind.setdefault(kind,[]).append((e,st,v))
with open(sys.argv[1]+"/archive.jsonl","w") as f:
    for e in entries: f.write(json.dumps(e,ensure_ascii=False)+"\n")
rows=[]
kinds=[k for k in KINDS]
random.shuffle(kinds)
for (kind,topic,phr,para,ans) in kinds[:32]:
    e,st,v=random.choice(by_kind[kind])
    vname=v.split(" ",1)[1]
    loc=v.replace("с. ","село ").replace("пос. ","посёлок ") if random.random()<0.5 else v
    rows.append((e["id"],topic,loc,para.format(st=st,vil=vname)))
for topic,text in NONE:
    v=random.choice(VILS)
    rows.append(("-",topic,v,text))
with open(sys.argv[1]+"/queries.tsv","w") as f:
    f.write("# expected\ttopic\tlocation\ttext  (expected: the archive id a good answer is, - when none fits)\n")
    for r in rows: f.write("\t".join(r)+"\n")
print(len(entries),len(rows))
